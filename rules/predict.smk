# Prediction (GPU when available) and reconstruction (CPU), one job per test image and shard.


rule predict:
    input:
        image=lambda w: IMAGES[w.image],
        model=MODEL_FILE,
        config=stage_config("predict"),
        config_digest=stage_config_marker("predict"),
    output:
        temp(str(RESULTS / "patches" / f"{{image}}.shard{{shard}}of{SHARDS}.npz")),
    log:
        str(LOGS / "predict" / "{image}.shard{shard}.log"),
    benchmark:
        str(BENCHMARKS / "predict" / "{image}.shard{shard}.tsv")
    conda:
        CONDA_ENV
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=1,
    params:
        shards=SHARDS,
    shell:
        "segpipe predict {input.image:q} {output:q} --model {input.model:q} --shard "
        "{wildcards.shard}/{params.shards} "
        "--threads {threads} --config {input.config:q} > {log:q} 2>&1"


rule reconstruct:
    input:
        expand(
            str(RESULTS / "patches" / "{{image}}.shard{shard}of{shards}.npz"),
            shard=range(1, SHARDS + 1),
            shards=SHARDS,
        ),
    output:
        str(RESULTS / FOLDERS.channels / "{image}.tif"),
    log:
        str(LOGS / "reconstruct" / "{image}.log"),
    benchmark:
        str(BENCHMARKS / "reconstruct" / "{image}.tsv")
    group:
        "per_image"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    shell:
        "segpipe reconstruct {input:q} --out {output:q} > {log:q} 2>&1"
