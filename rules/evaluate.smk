# Matching metrics over all test images: test_results_metrics.csv and point_associations/.


rule evaluate:
    input:
        instances=[instances(i) for i in IMAGES],
        post=[final_labels(i) for i in IMAGES] if REFINE else [],
        gt=TEST_LABEL,
        config=stage_config("evaluate"),
    output:
        str(RESULTS / "test_results_metrics.csv"),
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
        pred=folder_of(lambda i, o: i.instances),
        post=f"--post {RESULTS / 'per_image_post_processing'}" if REFINE else "",
        gt=folder_of(lambda i, o: i.gt),
        associations=str(RESULTS / "point_associations"),
        ndim=NDIM,
    shell:
        "segpipe evaluate --pred {params.pred} {params.post} --gt {params.gt} --out {output} "
        "--associations {params.associations} --ndim {params.ndim} --config {input.config} > "
        "{log} 2>&1"
