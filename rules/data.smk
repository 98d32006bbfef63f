# Demo data, the input check and the label encoding.

if DEMO:

    rule demo_data:
        output:
            TRAIN_RAW + TRAIN_LABEL + TEST_RAW + TEST_LABEL,
        log:
            str(EXPERIMENT / "logs" / "demo_data.log"),
        benchmark:
            str(EXPERIMENT / "benchmarks" / "demo_data.tsv")
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            sample=DEMO,
            root=lambda w, output: str(Path(output[0]).parent.parent.parent),
        shell:
            "segpipe demo-data --sample {params.sample} --out {params.root} > {log} 2>&1"


# Training data are checked as a whole before training; each test image is checked by
# its own predict job, so one bad image fails alone and the others go on (--keep-going).
rule check:
    input:
        TRAIN_RAW + TRAIN_LABEL + VAL_RAW + VAL_LABEL,
    output:
        str(RESULTS / "check" / "data_check.json"),
    log:
        str(LOGS / "check.log"),
    benchmark:
        str(BENCHMARKS / "check.tsv")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        folders=" ".join(
            [f"--raw {TRAIN_DATA['PATH']} --label {TRAIN_DATA['GT_PATH']}"] * bool(TRAIN_RAW)
            + [f"--raw {VAL_DATA['PATH']} --label {VAL_DATA['GT_PATH']}"] * bool(VAL_RAW)
        ),
        ndim=NDIM,
    shell:
        "segpipe check {params.folders} --ndim {params.ndim} --out {output} > {log} 2>&1"


rule encode:
    input:
        labels=lambda w: LABEL_FILES[w.split][w.name],
        config=stage_config("encode"),
    output:
        str(RESULTS / "channels" / "{split}" / "{name}.tif"),
    log:
        str(LOGS / "encode" / "{split}" / "{name}.log"),
    benchmark:
        str(BENCHMARKS / "encode" / "{split}" / "{name}.tsv")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "segpipe encode {input.labels} {output} --threads {threads} --config {input.config} > "
        "{log} 2>&1"
