# Post-processing of each image's instances, one rule per step that is on (POST_STEPS, in
# BiaPy's order: refinement, large-blob repair, removal by properties); each reads the
# previous step's labels and the last writes per_image_post_processing/.
# A step that is off has no rule: its outputs would clash with measure's.


if "refine" in POST_STEPS:

    rule refine:
        input:
            labels=post_step_input("refine"),
            config=stage_config("refine"),
            config_digest=stage_config_marker("refine"),
        output:
            (directory if "refine" in BLOCKWISE_STEPS else str)(post_step_output("refine")),
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


if "repair_large_blobs" in POST_STEPS:

    rule repair_large_blobs:
        input:
            labels=post_step_input("repair_large_blobs"),
            config=stage_config("repair_large_blobs"),
            config_digest=stage_config_marker("repair_large_blobs"),
        output:
            (directory if "repair_large_blobs" in BLOCKWISE_STEPS else str)(
                post_step_output("repair_large_blobs")
            ),
        log:
            str(LOGS / "repair_large_blobs" / "{image}.log"),
        benchmark:
            str(BENCHMARKS / "repair_large_blobs" / "{image}.tsv")
        group:
            "per_image"
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=4000,
            runtime=30,
        shell:
            "segpipe repair-large-blobs {input.labels:q} {output:q} --config {input.config:q} > "
            "{log:q} 2>&1"


if "filter_by_properties" in POST_STEPS:

    rule filter_by_properties:
        input:
            labels=post_step_input("filter_by_properties"),
            config=stage_config("filter_by_properties"),
            config_digest=stage_config_marker("filter_by_properties"),
        output:
            labels=(directory if "filter_by_properties" in BLOCKWISE_STEPS else str)(
                post_step_output("filter_by_properties")
            ),
            all_stats=str(RESULTS / FOLDERS.instances / "{image}_full_stats.csv"),
            kept_stats=str(RESULTS / FOLDERS.post_processing / "{image}_filtered_stats.csv"),
        log:
            str(LOGS / "filter_by_properties" / "{image}.log"),
        benchmark:
            str(BENCHMARKS / "filter_by_properties" / "{image}.tsv")
        group:
            "per_image"
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=4000,
            runtime=30,
        shell:
            "segpipe filter-by-properties {input.labels:q} {output.labels:q} "
            "--all-stats {output.all_stats:q} --kept-stats {output.kept_stats:q} "
            "--config {input.config:q} > {log:q} 2>&1"
