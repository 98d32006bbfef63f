# Stage configs, demo data, the input check and the label encoding.


# Each stage's config slice (and the whole resolved config), written after the locks by a
# local rule per file. Beside each file, an empty marker named by a digest of its text: when
# the text changes, the marker is missing, the rule runs and rewrites the file, and the file's
# new mtime reruns the stages that read it (whatever --rerun-triggers says, and from any
# working directory). Older markers are removed, so returning to an earlier text reruns too.
for _path, _text in CONFIG_TEXTS.items():

    rule:
        name:
            config_rule_name(_path)
        output:
            config=_path,
            marker=config_marker(_path, _text),
        log:
            str(EXPERIMENT / "logs" / "config_files" / f"{Path(_path).stem}.log"),
        localrule: True
        conda:
            CONDA_ENV
        params:
            text=_text,
            markers=lambda w, output: str(Path(output.marker).parent),
            older=lambda w, output: f"{Path(output.config).stem}-*",
        # a shell line, not a run: block (which Snakemake runs in a new Python process)
        shell:
            "find {params.markers:q} -name {params.older:q} -delete && "
            "printf '%s' {params.text:q} > {output.config:q}.tmp && "
            "mv {output.config:q}.tmp {output.config:q} && touch {output.marker:q} && "
            "echo wrote {output.config:q} > {log:q}"


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
            "segpipe demo-data --sample {params.sample} --out {params.root:q} > {log:q} 2>&1"


# Training data are checked as a whole before training; each test image is checked by
# its own predict job, so one bad image fails alone and the others go on (--keep-going).
rule check:
    input:
        images=TRAIN_RAW + TRAIN_LABEL + VAL_RAW + VAL_LABEL,
        config=stage_config("check"),
        config_digest=stage_config_marker("check"),
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
        folders=shell_words(
            ["--raw", RAW_DIRS["train"], "--label", LABEL_DIRS["train"]] * bool(TRAIN_RAW)
            + ["--raw", RAW_DIRS["val"], "--label", LABEL_DIRS["val"]] * bool(VAL_RAW)
        ),
        ndim=NDIM,
    shell:
        "segpipe check {params.folders} --ndim {params.ndim} --out {output:q} "
        "--config {input.config:q} > {log:q} 2>&1"


rule encode:
    input:
        labels=lambda w: LABEL_FILES[w.split][w.name],
        config=stage_config("encode"),
        config_digest=stage_config_marker("encode"),
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
        "segpipe encode {input.labels:q} {output:q} --threads {threads} --config {input.config:q} > "
        "{log:q} 2>&1"
