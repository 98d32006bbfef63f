# Per-instance measurements of each image's final labels.


rule measure:
    input:
        labels=lambda w: final_labels(w.image),
        config=stage_config("measure"),
        config_digest=stage_config_marker("measure"),
    output:
        str(RESULTS / FOLDERS.final_labels(bool(POST_STEPS)) / "{image}_full_stats.csv"),
    log:
        str(LOGS / "measure" / "{image}.log"),
    benchmark:
        str(BENCHMARKS / "measure" / "{image}.tsv")
    group:
        "per_image"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "segpipe measure {input.labels:q} {output:q} --config {input.config:q} > {log:q} 2>&1"


# RUN.OME_ZARR: each test image with its final instances as one OME-Zarr (napari opens both)
rule ome_zarr:
    input:
        raw=lambda w: IMAGES[w.image],
        labels=lambda w: final_labels(w.image),
        config=stage_config("ome_zarr"),
        config_digest=stage_config_marker("ome_zarr"),
    output:
        directory(str(RESULTS / "ome_zarr" / "{image}.zarr")),
    log:
        str(LOGS / "ome_zarr" / "{image}.log"),
    benchmark:
        str(BENCHMARKS / "ome_zarr" / "{image}.tsv")
    group:
        "per_image"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "segpipe ome-zarr {input.raw:q} {input.labels:q} --out {output:q} "
        "--config {input.config:q} > {log:q} 2>&1"
