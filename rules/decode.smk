# Instances from channels: the channels' median filter (MEDIAN_FILTER), then the decoder, in one
# job per image, or with TEST.BY_CHUNKS by groups of blocks in parallel jobs.


rule median_filter:
    input:
        channels=lambda w: channels_file(w.image),
        blocks=predicted_block_groups,
        config=stage_config("median_filter"),
        config_digest=stage_config_marker("median_filter"),
    output:
        # with BY_CHUNKS a Zarr, filtered block by block
        (directory if BY_CHUNKS else str)(median_filtered_file("{image}")),
    log:
        str(LOGS / "median_filter" / "{image}.log"),
    benchmark:
        str(BENCHMARKS / "median_filter" / "{image}.tsv")
    group:
        "per_image"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "segpipe median-filter {input.channels:q} {output:q} --config {input.config:q} > {log:q} 2>&1"


if BY_CHUNKS:

    # by blocks across jobs: a plan (decoder settings, 'auto' thresholds fixed once, groups of
    # blocks), one decode_blocks job per group writing its part, then decode joins the parts
    checkpoint plan_decode:
        input:
            channels=lambda w: decode_input(w.image),
            blocks=predicted_block_groups,
            tuned=[TUNED_FILE] if TUNE else [],
            config=stage_config("decode"),
            config_digest=stage_config_marker("decode"),
        output:
            str(RESULTS / "blocks" / "{image}.decode.json"),
        log:
            str(LOGS / "plan_decode" / "{image}.log"),
        benchmark:
            str(BENCHMARKS / "plan_decode" / "{image}.tsv")
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=4000,
            runtime=30,
        params:
            tuned=lambda w, input: shell_words(["--tuned", *input.tuned] if input.tuned else []),
        shell:
            "segpipe plan-decode {input.channels:q} {output:q} {params.tuned} "
            "--config {input.config:q} > {log:q} 2>&1"

    rule decode_blocks:
        input:
            str(RESULTS / "blocks" / "{image}.decode.json"),
        output:
            temp(directory(str(RESULTS / "blocks" / "{image}" / "labels{group}.zarr"))),
        log:
            str(LOGS / "decode_blocks" / "{image}.group{group}.log"),
        benchmark:
            str(BENCHMARKS / "decode_blocks" / "{image}.group{group}.tsv")
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=4000,
            runtime=60,
        shell:
            "segpipe decode-blocks {input:q} {output:q} --group {wildcards.group} "
            "--threads {threads} > {log:q} 2>&1"

    rule decode:
        input:
            plan=str(RESULTS / "blocks" / "{image}.decode.json"),
            parts=decoded_block_groups,
        output:
            directory(str(RESULTS / FOLDERS.instances / f"{{image}}{INSTANCES_SUFFIX}")),
        log:
            str(LOGS / "decode" / "{image}.log"),
        benchmark:
            str(BENCHMARKS / "decode" / "{image}.tsv")
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=4000,
            runtime=60,
        shell:
            "segpipe merge-blocks {input.plan:q} {output:q} {input.parts:q} > {log:q} 2>&1"

else:

    rule decode:
        input:
            channels=lambda w: decode_input(w.image),
            tuned=[TUNED_FILE] if TUNE else [],
            config=stage_config("decode"),
            config_digest=stage_config_marker("decode"),
        output:
            str(RESULTS / FOLDERS.instances / f"{{image}}{INSTANCES_SUFFIX}"),
        log:
            str(LOGS / "decode" / "{image}.log"),
        benchmark:
            str(BENCHMARKS / "decode" / "{image}.tsv")
        group:
            "per_image"
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=4000,
            runtime=30,
        params:
            debug=str(RESULTS / "watershed" / "{image}"),
            tuned=lambda w, input: shell_words(["--tuned", *input.tuned] if input.tuned else []),
        shell:
            "segpipe decode {input.channels:q} {output:q} --debug-dir {params.debug:q} --threads {threads} "
            "{params.tuned} --config {input.config:q} > {log:q} 2>&1"


if TUNE:

    rule tune:
        input:
            model=str(MODEL_DIR / "model.pt"),
            validation=str(MODEL_DIR / "validation.json"),
            config=stage_config("tune"),
            config_digest=stage_config_marker("tune"),
        output:
            TUNED_FILE,
        log:
            str(LOGS / "tune.log"),
        benchmark:
            str(BENCHMARKS / "tune.tsv")
        conda:
            CONDA_ENV
        threads: 2
        resources:
            mem_mb=8000,
            runtime=60,
        shell:
            "segpipe tune {input.model:q} {input.validation:q} {output:q} --threads {threads} "
            "--config {input.config:q} > {log:q} 2>&1"
