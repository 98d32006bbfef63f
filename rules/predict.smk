# Prediction (GPU when available): one job per group of test images (RUN.PREDICT_IMAGES_PER_JOB,
# one process, so torch and the model load once) and shard; reconstruction (CPU) per image.
# With TEST.BY_CHUNKS, each image is planned (statistics, blocks, an empty Zarr of channels),
# then its blocks are predicted straight into the Zarr, BLOCKS_PER_JOB a job.


rule predict:
    input:
        images=lambda w: [PREDICT_INPUT[name] for name in PREDICT_GROUPS[int(w.group)]],
        model=MODEL_FILE,
        config=stage_config("predict"),
        config_digest=stage_config_marker("predict"),
    output:
        temp(directory(str(RESULTS / "patches" / f"group{{group}}.shard{{shard}}of{SHARDS}"))),
    log:
        str(LOGS / "predict" / "group{group}.shard{shard}.log"),
    benchmark:
        str(BENCHMARKS / "predict" / "group{group}.shard{shard}.tsv")
    conda:
        CONDA_ENV
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=1,
    params:
        shards=SHARDS,
    shell:
        "segpipe predict {input.images:q} --out-dir {output:q} --keep-going "
        "--model {input.model:q} --shard {wildcards.shard}/{params.shards} "
        "--threads {threads} --config {input.config:q} > {log:q} 2>&1"


rule reconstruct:
    input:
        lambda w: patch_folders(w.image),
    output:
        # with RESIZE_BACK at the preprocessed shape, for resize_channels
        str(RESULTS / ("channels_resized" if RESIZE_BACK else FOLDERS.channels) / "{image}.tif"),
    log:
        str(LOGS / "reconstruct" / "{image}.log"),
    benchmark:
        str(BENCHMARKS / "reconstruct" / "{image}.tsv")
    group:
        "per_image"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        patches=lambda w, input: shell_words(Path(f) / f"{w.image}.npz" for f in input),
    shell:
        "segpipe reconstruct {params.patches} --out {output:q} > {log:q} 2>&1"


checkpoint plan_blocks:
    input:
        image=lambda w: IMAGES[w.image],
        model=MODEL_FILE,
        config=stage_config("predict"),
        config_digest=stage_config_marker("predict"),
    output:
        plan=str(RESULTS / "blocks" / "{image}.plan.json"),
        channels=directory(str(RESULTS / FOLDERS.channels / "{image}.zarr")),
    log:
        str(LOGS / "plan_blocks" / "{image}.log"),
    benchmark:
        str(BENCHMARKS / "plan_blocks" / "{image}.tsv")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        "segpipe plan-blocks {input.image:q} {output.channels:q} {output.plan:q} "
        "--model {input.model:q} --config {input.config:q} > {log:q} 2>&1"


# the plan is the input; the Zarr it made is filled in place, block by block, by these jobs
rule predict_blocks:
    input:
        plan=str(RESULTS / "blocks" / "{image}.plan.json"),
        model=MODEL_FILE,
    output:
        str(RESULTS / "blocks" / "{image}" / "group{group}.json"),
    log:
        str(LOGS / "predict_blocks" / "{image}.group{group}.log"),
    benchmark:
        str(BENCHMARKS / "predict_blocks" / "{image}.group{group}.tsv")
    conda:
        CONDA_ENV
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=1,
    shell:
        "segpipe predict-blocks {input.plan:q} --model {input.model:q} --group {wildcards.group} "
        "--done {output:q} --threads {threads} > {log:q} 2>&1"
