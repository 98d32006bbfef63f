# TEST.ANALIZE_2D_IMGS_AS_3D_STACK: the 2D test images' channels stacked in name order into
# one volume, median-filtered and decoded in 3D, post-processed (each step of POST_STEPS that
# means something in 3D) and evaluated against the stacked ground truth, all in as_3d_stack/.

if AS_3D_STACK:

    rule stack_channels:
        input:
            [str(RESULTS / FOLDERS.channels / f"{i}.tif") for i in STACK_IMAGES],
        output:
            temp(str(STACK / "channels.tif")),
        log:
            str(LOGS / "as_3d_stack" / "stack_channels.log"),
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=8000,
            runtime=30,
        shell:
            "segpipe stack {input:q} --out {output:q} > {log:q} 2>&1"

    if POST["MEDIAN_FILTER"]:

        rule stack_median_filter:
            input:
                channels=str(STACK / "channels.tif"),
                config=stage_config("median_filter_as_3d_stack"),
                config_digest=stage_config_marker("median_filter_as_3d_stack"),
            output:
                temp(str(STACK / "channels_median_filtered.tif")),
            log:
                str(LOGS / "as_3d_stack" / "median_filter.log"),
            conda:
                CONDA_ENV
            threads: 1
            resources:
                mem_mb=8000,
                runtime=30,
            shell:
                "segpipe median-filter {input.channels:q} {output:q} --config {input.config:q} > "
                "{log:q} 2>&1"

    rule stack_decode:
        input:
            channels=str(
                STACK
                / ("channels_median_filtered.tif" if POST["MEDIAN_FILTER"] else "channels.tif")
            ),
            tuned=[TUNED_FILE] if TUNE else [],
            config=stage_config("decode_as_3d_stack"),
            config_digest=stage_config_marker("decode_as_3d_stack"),
        output:
            str(STACK / "instances.tif"),
        log:
            str(LOGS / "as_3d_stack" / "decode.log"),
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=8000,
            runtime=60,
        params:
            debug=str(STACK / "watershed"),
            tuned=lambda w, input: shell_words(["--tuned", *input.tuned] if input.tuned else []),
        shell:
            "segpipe decode {input.channels:q} {output:q} --debug-dir {params.debug:q} "
            "{params.tuned} --config {input.config:q} > {log:q} 2>&1"

    for _step in STACK_POST_STEPS:

        rule:
            name:
                f"stack_{_step}"
            input:
                labels=stack_step_input(_step),
                config=stage_config(f"{_step}_as_3d_stack"),
                config_digest=stage_config_marker(f"{_step}_as_3d_stack"),
            output:
                stack_step_output(_step),
            log:
                str(LOGS / "as_3d_stack" / f"{_step}.log"),
            conda:
                CONDA_ENV
            threads: 1
            resources:
                mem_mb=8000,
                runtime=30,
            params:
                command=STEP_COMMANDS[_step],
            shell:
                "segpipe {params.command} {input.labels:q} {output:q} --config {input.config:q} "
                "> {log:q} 2>&1"

    if EVALUATE:

        rule stack_truth:
            input:
                [TRUTH[i] for i in STACK_IMAGES],
            output:
                temp(str(STACK / "ground_truth.tif")),
            log:
                str(LOGS / "as_3d_stack" / "stack_truth.log"),
            conda:
                CONDA_ENV
            threads: 1
            resources:
                mem_mb=8000,
                runtime=30,
            shell:
                "segpipe stack {input:q} --out {output:q} > {log:q} 2>&1"

        rule stack_evaluate:
            input:
                instances=str(STACK / "instances.tif"),
                post=[stack_labels()] if STACK_POST_STEPS else [],
                gt=str(STACK / "ground_truth.tif"),
                config=stage_config("evaluate_as_3d_stack"),
                config_digest=stage_config_marker("evaluate_as_3d_stack"),
            output:
                str(STACK / "test_results_metrics.csv"),
            log:
                str(LOGS / "as_3d_stack" / "evaluate.log"),
            conda:
                CONDA_ENV
            threads: 1
            resources:
                mem_mb=8000,
                runtime=30,
            params:
                post=lambda w, input: shell_words(option_per_file("--post", input.post)),
                associations=str(STACK / "point_associations"),
            shell:
                "segpipe evaluate --pred {input.instances:q} {params.post} --gt {input.gt:q} "
                "--in-order --out {output:q} --associations {params.associations:q} --ndim 3D "
                "--config {input.config:q} > {log:q} 2>&1"
