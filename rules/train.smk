# Training: one job for the whole training set (GPU when the scheduler gives one).


# PATHS.CHECKPOINT_FILE is a checkpoint BiaPy saved: imported once into a segpipe model, which
# training fine-tunes and prediction uses
if BIAPY_CHECKPOINT:

    rule import_biapy:
        input:
            BIAPY_CHECKPOINT,
        output:
            CHECKPOINT_FILE,
        log:
            str(LOGS / "import_biapy.log"),
        conda:
            CONDA_ENV
        resources:
            mem_mb=4000,
        shell:
            "segpipe import-biapy {input:q} {output:q} > {log:q} 2>&1"


if CFG["TRAIN"]["ENABLE"]:

    rule train:
        input:
            raw=TRAIN_RAW,
            labels=TRAIN_LABEL,
            val=VAL_RAW + VAL_LABEL,
            channels=channel_files("train", TRAIN_LABEL),
            val_channels=channel_files("val", VAL_LABEL),
            check=str(RESULTS / "check" / "data_check.json"),
            # the model fine-tuned (MODEL.LOAD_CHECKPOINT): a new one retrains
            init=[CHECKPOINT_FILE] if CHECKPOINT_FILE else [],
            config=stage_config("train"),
            config_digest=stage_config_marker("train"),
        output:
            model=str(MODEL_DIR / "model.pt"),
            last=str(MODEL_DIR / "model_last.pt"),
            normalization=str(MODEL_DIR / "normalization.json"),
            settings=str(MODEL_DIR / "train_config.yaml"),
            validation=str(MODEL_DIR / "validation.json"),
            log_csv=str(RESULTS / "train_logs" / f"{NAME}_log.csv"),
            chart=report(
                str(RESULTS / "charts" / f"{NAME}_loss.png"),
                caption="../report/loss.rst",
                category="Training",
            ),
        log:
            str(LOGS / "train.log"),
        benchmark:
            str(BENCHMARKS / "train.tsv")
        conda:
            CONDA_ENV
        threads: 8  # capped at --cores locally; profiles/slurm sets the cluster value
        resources:
            mem_mb=16000,
            runtime=24 * 60,
            gpu=TRAIN_GPUS,
        params:
            raw=folder_of(lambda i, o: i.raw),
            labels=folder_of(lambda i, o: i.labels),
            channels=lambda w, input: shell_words(
                ["--channels", Path(input.channels[0]).parent] if input.channels else []
            ),
            validation=shell_words(
                [
                    "--val-raw",
                    RAW_DIRS["val"],
                    "--val-label",
                    LABEL_DIRS["val"],
                    "--val-channels",
                    RESULTS / "channels" / "val",
                ]
                * USE_VAL_FOLDER
            ),
            model_dir=folder_of(lambda i, o: o.model),
            # the model to fine-tune as the workflow has it (a BiaPy checkpoint imported)
            init=shell_words(["--init-model", CHECKPOINT_FILE] if CHECKPOINT_FILE else []),
            # AUGMENTOR.AUG_SAMPLES: examples in the experiment folder, as BiaPy writes them
            aug_dir=str(RESULTS / "aug"),
            # one process per GPU when there are several (one is segpipe itself)
            launcher=(
                f"python -m torch.distributed.run --standalone --nproc_per_node {TRAIN_GPUS} -m "
                "stages"
                if TRAIN_GPUS > 1
                else "segpipe"
            ),
        shell:
            "{params.launcher} train --raw {params.raw:q} --label {params.labels:q} "
            "{params.channels} {params.validation} "
            "--out {params.model_dir:q} --log-csv {output.log_csv:q} --chart {output.chart:q} "
            "--aug-dir {params.aug_dir:q} --threads {threads} {params.init} "
            "--no-progress --config {input.config:q} > {log:q} 2>&1"


# MODEL.BMZ.EXPORT.ENABLE: the model as a BioImage Model Zoo package, its test input cut from
# the first test image (else the first training image)
if EXPORT_BMZ:

    rule export_bmz:
        input:
            model=MODEL_FILE,
            image=(sorted(PREDICT_INPUT.values()) or TRAIN_RAW)[:1],
            config=stage_config("export"),
            config_digest=stage_config_marker("export"),
        output:
            BMZ_PACKAGE,
        log:
            str(LOGS / "export_bmz.log"),
        benchmark:
            str(BENCHMARKS / "export_bmz.tsv")
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=4000,
            runtime=20,
        shell:
            "segpipe export {input.model:q} {output:q} --image {input.image:q} "
            "--config {input.config:q} > {log:q} 2>&1"
