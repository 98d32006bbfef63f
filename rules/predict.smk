# Prediction (GPU when available): one job per group of test images (RUN.PREDICT_IMAGES_PER_JOB,
# one process, so torch and the model load once) and shard; reconstruction (CPU) per image.


rule predict:
    input:
        images=lambda w: [IMAGES[name] for name in PREDICT_GROUPS[int(w.group)]],
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
        str(RESULTS / FOLDERS.channels / "{image}.tif"),
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
