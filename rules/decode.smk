# Instances from channels: the channels' median filter (MEDIAN_FILTER), then the decoder.


rule median_filter:
    input:
        channels=str(RESULTS / "per_image" / "{image}.tif"),
        config=stage_config("median_filter"),
        config_digest=stage_config_marker("median_filter"),
    output:
        str(RESULTS / "per_image_median_filtered" / "{image}.tif"),
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
        config=stage_config("decode"),
        config_digest=stage_config_marker("decode"),
    output:
        str(RESULTS / "per_image_instances" / "{image}.tif"),
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
    shell:
        "segpipe decode {input.channels:q} {output:q} --debug-dir {params.debug:q} --threads {threads} "
        "--config {input.config:q} > {log:q} 2>&1"
