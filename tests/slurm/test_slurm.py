"""The demo workflow through a real SLURM (slurmctld + slurmd on this machine) with profiles/slurm.

Skipped, with the reason, where the cluster cannot be brought up (not root, no apt-get).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from .cluster import Unavailable, down, jobs, up

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slurm

CONFIG = {
    "RUN": {"NAME": "slurm2d", "DEMO_DATA": "stardist2d"},
    "SYSTEM": {"SEED": 3},
    "PROBLEM": {"NDIM": "2D", "INSTANCE_SEG": {"DATA_CHANNELS": ["F", "C"]}},
    "DATA": {
        "PATCH_SIZE": [64, 64, 1],
        "TRAIN": {"PATH": "data/d/train/raw", "GT_PATH": "data/d/train/label", "REPLICATE": 1},
        "TEST": {"PATH": "data/d/test/raw", "GT_PATH": "data/d/test/label", "PADDING": [8, 8]},
    },
    "MODEL": {"FEATURE_MAPS": [8, 16], "NORMALIZATION": "bn"},
    "TRAIN": {"EPOCHS": 2, "BATCH_SIZE": 8, "LR": 2e-3},
    "TEST": {"POST_PROCESSING": {"MEASURE_PROPERTIES": {"ENABLE": True}}},
}
THREADS = ["--set-threads", "train=2", "predict=2"]


def _environment() -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "SEGPIPE_CPU_PARTITION": "cpu",
        "SEGPIPE_GPU_PARTITION": "gpu",
    }


def snakemake(
    workdir: Path, config: dict, *args: str, limit: int = 600
) -> subprocess.CompletedProcess:
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    # SIGINT, not SIGTERM: Snakemake cancels its SLURM jobs on INT and only waits on TERM
    return subprocess.run(
        [
            "timeout",
            "-s",
            "INT",
            str(limit),
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(workdir),
            "--configfile",
            str(path),
            *args,
        ],
        capture_output=True,
        text=True,
        env=_environment(),
    )


@pytest.fixture(scope="module")
def cluster():
    if os.environ.get("SEGPIPE_SKIP_SLURM"):
        pytest.skip("SEGPIPE_SKIP_SLURM is set")
    try:
        up()
    except Unavailable as reason:
        pytest.skip(f"no local SLURM: {reason}")
    yield
    down()


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("slurm")
    result = snakemake(
        workdir,
        CONFIG,
        "--profile",
        str(REPO / "profiles" / "slurm"),
        "--jobs",
        "2",
        *THREADS,
        "--slurm-keep-successful-logs",
        "--slurm-init-seconds-before-status-checks",
        "2",
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return workdir, result


def test_every_job_ran_as_a_slurm_job(slurm_run):
    workdir, result = slurm_run
    logs = workdir / ".snakemake" / "slurm_logs"
    for rule in ("demo_data", "check", "encode", "train", "predict", "evaluate"):
        assert list((logs / f"rule_{rule}").rglob("*.log")), f"no SLURM log for rule {rule}"
    assert list(logs.glob("group_per_image*")), (
        "reconstruct/decode/measure did not run as one grouped SLURM job"
    )
    ours = [job for job in jobs() if job.get("WorkDir") == str(workdir)]
    assert len(ours) >= 8 and all(job["JobState"] == "COMPLETED" for job in ours), ours
    gpu_jobs = [job for job in ours if job.get("Partition") == "gpu"]
    assert len(gpu_jobs) == 2 and all(
        "gpu" in (job.get("TresPerJob", "") + job.get("TRES", "")) for job in gpu_jobs
    )
    assert {job["Partition"] for job in ours} == {"cpu", "gpu"}
    train_log = (workdir / "results/slurm2d/results/slurm2d_1/logs/train.log").read_text()
    assert (
        "CUDA_VISIBLE_DEVICES=0 but torch sees no usable CUDA device: training on the CPU"
        in train_log
    )


def test_metrics_equal_those_of_a_local_run(slurm_run, tmp_path):
    workdir, _ = slurm_run
    local = snakemake(tmp_path, CONFIG, "--cores", "2", *THREADS)
    assert local.returncode == 0, local.stderr[-3000:]
    name = "results/slurm2d/results/slurm2d_1/test_results_metrics.csv"
    pd.testing.assert_frame_equal(pd.read_csv(workdir / name), pd.read_csv(tmp_path / name))


def test_a_failed_image_fails_alone_and_names_its_log(slurm_run):
    workdir, _ = slurm_run
    broken = workdir / "data" / "broken"
    broken.mkdir()
    shutil.copy(workdir / "data/d/test/raw/tile-3.tif", broken / "good.tif")
    (broken / "bad.tif").write_bytes(b"this is not a TIFF")
    shutil.copytree(
        workdir / "results/slurm2d/checkpoints/slurm2d_1",
        workdir / "results/slurm2d/checkpoints/slurm2d_2",
    )
    config = {
        **CONFIG,
        "RUN": {"NAME": "slurm2d", "ID": 2},
        "TRAIN": {**CONFIG["TRAIN"], "ENABLE": False},
        "DATA": {
            **CONFIG["DATA"],
            "TEST": {"PATH": "data/broken", "LOAD_GT": False, "PADDING": [8, 8]},
        },
    }
    # one image per group job: with several, a failed image holds back the others of its group
    result = snakemake(
        workdir,
        config,
        "--profile",
        str(REPO / "profiles" / "slurm"),
        "--jobs",
        "2",
        *THREADS,
        "--keep-going",
        "--retries",
        "0",
        "--group-components",
        "per_image=1",
        "--slurm-init-seconds-before-status-checks",
        "2",
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    # one predict job for both images; the bad one fails its own reconstruct job, named
    assert "Error in rule reconstruct" in output and "bad" in output
    # where to read the failed group job's log (reconstruct, decode, measure of that image)
    assert "slurm_logs/group_per_image" in output
    logs = workdir / "results/slurm2d/results/slurm2d_2/logs"
    assert "bad.tif is not a readable TIFF" in (logs / "reconstruct/bad.log").read_text()
    assert "bad.tif is not a readable TIFF" in (logs / "predict/group0.shard1.log").read_text()
    assert (workdir / "results/slurm2d/results/slurm2d_2/per_image_instances/good.tif").exists()


def test_a_test_image_of_nine_blocks_is_predicted_by_two_gpu_jobs(slurm_run):
    """Issue 17 item 6: TEST.BY_CHUNKS through SLURM: each test image is planned, its nine
    blocks predicted by two GPU-partition jobs into one Zarr of channels (equal to the
    whole-image prediction of the first run), decoded by two CPU jobs and joined."""
    import numpy as np

    from stages.io import read_channels

    workdir, _ = slurm_run
    shutil.copytree(
        workdir / "results/slurm2d/checkpoints/slurm2d_1",
        workdir / "results/slurm2d/checkpoints/slurm2d_3",
    )
    # 96x96 blocks (whole steps of the patch grid) tile each 256x256 tile in 3x3, 5 a job
    chunks = {
        "ENABLE": True,
        "BLOCK_SIZE": [96, 96],
        "HALO": [48, 48],
        "BLOCKS_PER_JOB": 5,
        "DECODE_BLOCKS_PER_JOB": 5,
    }
    config = {
        **CONFIG,
        "RUN": {"NAME": "slurm2d", "ID": 3},
        "TRAIN": {**CONFIG["TRAIN"], "ENABLE": False},
        "TEST": {**CONFIG["TEST"], "BY_CHUNKS": chunks},
    }
    # the jobs of this run only (slurmctld still remembers the failed job of the test before)
    before = max((int(job["JobId"]) for job in jobs()), default=0)
    result = snakemake(
        workdir, config, "--profile", str(REPO / "profiles" / "slurm"), "--jobs", "4", *THREADS,
        "--set-threads", "predict_blocks=1", "--slurm-keep-successful-logs",
        "--slurm-init-seconds-before-status-checks", "2",
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    results = workdir / "results/slurm2d/results/slurm2d_3"
    images = sorted(p.stem for p in (workdir / "data/d/test/raw").glob("*.tif"))
    logs = workdir / ".snakemake" / "slurm_logs" / "rule_predict_blocks"
    assert len(list(logs.rglob("*.log"))) == 2 * len(images)
    decode_logs = workdir / ".snakemake" / "slurm_logs" / "rule_decode_blocks"
    assert len(list(decode_logs.rglob("*.log"))) == 2 * len(images)
    ours = [job for job in jobs() if int(job["JobId"]) > before]
    assert ours and all(job["JobState"] == "COMPLETED" for job in ours), ours
    # the two block jobs of each image, and only they, went to the GPU partition
    assert len([job for job in ours if job.get("Partition") == "gpu"]) == 2 * len(images)
    for image in images:
        plan = json.loads((results / "blocks" / f"{image}.plan.json").read_text())
        assert len(plan["blocks"]) == 9 and len(plan["groups"]) == 2
        assert len(list((results / "blocks" / image).glob("group*.json"))) == 2
        decoding = json.loads((results / "blocks" / f"{image}.decode.json").read_text())
        assert decoding["blocks"] == 9 and len(decoding["groups"]) == 2
        by_blocks, _, _ = read_channels(results / "per_image" / f"{image}.zarr")
        whole, _, _ = read_channels(
            workdir / "results/slurm2d/results/slurm2d_1/per_image" / f"{image}.tif"
        )
        np.testing.assert_allclose(by_blocks, whole, rtol=1e-4, atol=1e-5)
    metrics = pd.read_csv(results / "test_results_metrics.csv")
    assert len(metrics) > 0
