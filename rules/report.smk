# Pictures for people and for `snakemake --report`: per test image (the first
# RUN.REPORT_IMAGES of them), the raw image with the outlines of its final instances and of
# its ground truth, and the matching's association image. A few seconds each, run where
# Snakemake runs: on a cluster, a queued job per picture would wait longer than it works.


rule overlay:
    input:
        raw=lambda w: IMAGES[w.image],
        labels=lambda w: final_labels(w.image),
        truth=lambda w: [TRUTH[w.image]] if EVALUATE else [],
        # the association image is written by evaluate
        metrics=[str(RESULTS / "test_results_metrics.csv")] if ASSOCIATION_THRESHOLD else [],
    output:
        report(
            str(RESULTS / "charts" / "{image}_overlay.png"),
            caption="../report/overlay.rst",
            category="Test images",
            labels={"image": "{image}"},
        ),
    log:
        str(LOGS / "overlay" / "{image}.log"),
    localrule: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        options=lambda w, input: shell_words(
            (["--truth", input.truth[0]] if input.truth else [])
            + (["--associations", association_image(w.image)] if ASSOCIATION_THRESHOLD else [])
        ),
        ndim=NDIM,
    shell:
        "segpipe overlay {input.raw:q} {input.labels:q} {output:q} {params.options} "
        "--ndim {params.ndim} > {log:q} 2>&1"
