# Matching metrics over all test images: test_results_metrics.csv and point_associations/.


rule evaluate:
    input:
        instances=[instances(i) for i in IMAGES],
        post=[final_labels(i) for i in IMAGES] if POST_STEPS else [],
        channels=[channels_file(i) for i in IMAGES],
        gt=TEST_LABEL,
        config=stage_config("evaluate"),
        config_digest=stage_config_marker("evaluate"),
    output:
        report(
            str(RESULTS / "test_results_metrics.csv"),
            caption="../report/metrics.rst",
            category="Metrics",
        ),
    log:
        str(LOGS / "evaluate.log"),
    benchmark:
        str(BENCHMARKS / "evaluate.tsv")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        pred=lambda w, input: shell_words(option_per_file("--pred", input.instances)),
        post=lambda w, input: shell_words(option_per_file("--post", input.post)),
        gt=lambda w, input: shell_words(option_per_file("--gt", input.gt)),
        channels=lambda w, input: shell_words(option_per_file("--channels", input.channels)),
        associations=str(RESULTS / "point_associations"),
        ndim=NDIM,
    shell:
        "segpipe evaluate {params.pred} {params.post} {params.gt} {params.channels} --in-order --out {output:q} "
        "--associations {params.associations:q} --ndim {params.ndim} --config {input.config:q} > "
        "{log:q} 2>&1"
