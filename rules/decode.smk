# Instances from channels: the channels' median filter (MEDIAN_FILTER), then the decoder.


rule median_filter:
    input:
        channels=lambda w: channels_file(w.image),
        blocks=predicted_block_groups,
        config=stage_config("median_filter"),
        config_digest=stage_config_marker("median_filter"),
    output:
        str(RESULTS / FOLDERS.median_filtered / "{image}.tif"),
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


rule decode:
    input:
        channels=lambda w: decode_input(w.image),
        blocks=predicted_block_groups,
        tuned=[TUNED_FILE] if TUNE else [],
        config=stage_config("decode"),
        config_digest=stage_config_marker("decode"),
    output:
        (directory if BY_CHUNKS else str)(
            str(RESULTS / FOLDERS.instances / f"{{image}}{INSTANCES_SUFFIX}")
        ),
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
