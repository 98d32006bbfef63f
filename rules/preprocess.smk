# DATA.PREPROCESS: each raw image of a preprocessed split by its own job (with RESIZE,
# training and validation labels resized alike; with MATCH_HISTOGRAM, the reference images
# pooled once before them), and the test images' predicted channels resized back to the
# images' own shape.


rule reference_histogram:
    input:
        images=HISTOGRAM_REFERENCE_FILES,
        config=stage_config("preprocess"),
        config_digest=stage_config_marker("preprocess"),
    output:
        str(RESULTS / "preprocessed" / "reference_histogram.npz"),
    log:
        str(LOGS / "preprocess" / "reference_histogram.log"),
    benchmark:
        str(BENCHMARKS / "preprocess" / "reference_histogram.tsv")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "segpipe reference-histogram {output:q} --config {input.config:q} > {log:q} 2>&1"


rule preprocess:
    input:
        raw=lambda w: PREPROCESS_SOURCES[w.subset][w.name][0],
        histogram=REFERENCE_HISTOGRAM,
        config=stage_config("preprocess"),
        config_digest=stage_config_marker("preprocess"),
    output:
        str(RESULTS / "preprocessed" / "{subset}" / "raw" / "{name}.tif"),
    log:
        str(LOGS / "preprocess" / "{subset}" / "{name}.log"),
    benchmark:
        str(BENCHMARKS / "preprocess" / "{subset}" / "{name}.tsv")
    wildcard_constraints:
        subset="test" if RESIZE_ON else "train|val|test",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        histogram=shell_words(option_per_file("--histogram", REFERENCE_HISTOGRAM)),
    shell:
        "segpipe preprocess {input.raw:q} {output:q} {params.histogram} "
        "--config {input.config:q} > {log:q} 2>&1"


if RESIZE_ON:

    # the labels are resized with their raw image (and named as it)
    rule preprocess_with_labels:
        input:
            raw=lambda w: PREPROCESS_SOURCES[w.subset][w.name][0],
            label=lambda w: PREPROCESS_SOURCES[w.subset][w.name][1],
            histogram=REFERENCE_HISTOGRAM,
            config=stage_config("preprocess"),
            config_digest=stage_config_marker("preprocess"),
        output:
            raw=str(RESULTS / "preprocessed" / "{subset}" / "raw" / "{name}.tif"),
            label=str(RESULTS / "preprocessed" / "{subset}" / "label" / "{name}.tif"),
        log:
            str(LOGS / "preprocess" / "{subset}" / "{name}.log"),
        benchmark:
            str(BENCHMARKS / "preprocess" / "{subset}" / "{name}.tsv")
        wildcard_constraints:
            subset="train|val",
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=4000,
            runtime=30,
        params:
            histogram=shell_words(option_per_file("--histogram", REFERENCE_HISTOGRAM)),
        shell:
            "segpipe preprocess {input.raw:q} {output.raw:q} --labels {input.label:q} "
            "{output.label:q} {params.histogram} --config {input.config:q} > {log:q} 2>&1"

    rule resize_channels:
        input:
            channels=str(RESULTS / "channels_resized" / "{image}.tif"),
            image=lambda w: IMAGES[w.image],
            config=stage_config("preprocess"),
            config_digest=stage_config_marker("preprocess"),
        output:
            str(RESULTS / FOLDERS.channels / "{image}.tif"),
        log:
            str(LOGS / "resize_channels" / "{image}.log"),
        benchmark:
            str(BENCHMARKS / "resize_channels" / "{image}.tsv")
        group:
            "per_image"
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=8000,
            runtime=30,
        shell:
            "segpipe resize-channels {input.channels:q} {output:q} --shape-of {input.image:q} "
            "--config {input.config:q} > {log:q} 2>&1"
