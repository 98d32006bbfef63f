# Instances from channels (watershed) and their per-instance refinement.


rule decode:
    input:
        channels=str(RESULTS / "per_image" / "{image}.tif"),
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


rule refine:
    input:
        labels=str(RESULTS / "per_image_instances" / "{image}.tif"),
        config=stage_config("refine"),
        config_digest=stage_config_marker("refine"),
    output:
        str(RESULTS / "per_image_post_processing" / "{image}.tif"),
    log:
        str(LOGS / "refine" / "{image}.log"),
    benchmark:
        str(BENCHMARKS / "refine" / "{image}.tsv")
    group:
        "per_image"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "segpipe refine {input.labels:q} {output:q} --config {input.config:q} > {log:q} 2>&1"
