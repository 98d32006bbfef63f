"""The whole workflow through Snakemake, 2D and 3D, on the real stardist samples with tiny
settings."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile
import yaml

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.workflow


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(workdir),
            "--cores",
            "2",
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
    )


def planned_jobs(result: subprocess.CompletedProcess) -> set[str]:
    """Rule names in the 'Job stats' table of a dry run."""
    lines = result.stdout.splitlines()
    if "Job stats:" not in lines:
        return set()
    jobs = set()
    for line in lines[lines.index("Job stats:") + 3 :]:  # after the header and the dashes
        if not line.strip() or line.startswith("total"):
            break
        jobs.add(line.split()[0])
    # the stage configs are written by local rules when their text changes
    return {job for job in jobs if not job.startswith("config_")} - {"all"}


def _write(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


TINY_2D = {
    # tuning after training rides along the shared run (one training less in the suite)
    "RUN": {"NAME": "tiny2d", "DEMO_DATA": "stardist2d", "TUNE_THRESHOLDS": True},
    "PROBLEM": {"NDIM": "2D", "INSTANCE_SEG": {"DATA_CHANNELS": ["F", "C"]}},
    "DATA": {
        "PATCH_SIZE": "(64, 64, 1)",
        "TRAIN": {"PATH": "data/d2/train/raw", "GT_PATH": "data/d2/train/label", "REPLICATE": 1},
        "TEST": {
            "PATH": "data/d2/test/raw",
            "GT_PATH": "data/d2/test/label",
            "PADDING": "(8, 8)",
            "OVERLAP": "(0.25, 0.25)",
        },
    },
    "MODEL": {"FEATURE_MAPS": [8, 16], "NORMALIZATION": "bn"},
    "TRAIN": {"EPOCHS": 2, "BATCH_SIZE": 8, "LR": 2e-3},
    "TEST": {
        "POST_PROCESSING": {
            "INSTANCE_REFINEMENT": {
                "ENABLE": True,
                "OPERATIONS": ["fill_holes", "remove_small_objects"],
                "VALUES": ["none", 10],
            },
            "MEASURE_PROPERTIES": {"ENABLE": True},
        }
    },
}


@pytest.fixture(scope="module")
def run2d(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("wf2d")
    config = _write(workdir / "tiny2d.yaml", TINY_2D)
    result = snakemake(workdir, "--configfile", str(config))
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir, config


def test_2d_run_writes_the_spec_tree(run2d):
    workdir, _ = run2d
    results = workdir / "results" / "tiny2d" / "results" / "tiny2d_1"
    model = workdir / "results" / "tiny2d" / "checkpoints" / "tiny2d_1"
    for path in [
        model / "model.pt",
        model / "normalization.json",
        results / "per_image" / "tile-3.tif",
        results / "per_image_instances" / "tile-3.tif",
        results / "per_image_post_processing" / "tile-3.tif",
        results / "per_image_post_processing" / "tile-3_full_stats.csv",
        results / "test_results_metrics.csv",
        results / "point_associations" / "tile-3_th_0.5_gt_assoc.csv",
        results / "train_logs" / "tiny2d_1_log.csv",
        results / "charts" / "tiny2d_1_loss.png",
        results / "charts" / "tile-3_overlay.png",
        results / "logs" / "train.log",
        results / "logs" / "decode" / "tile-3.log",
        workdir / "results" / "tiny2d" / "config_files" / "tiny2d_1.yaml",
    ]:
        assert path.exists(), path
    metrics = pd.read_csv(results / "test_results_metrics.csv")
    assert list(metrics["file"]) == ["tile-3", "average"]
    assert (
        metrics.loc[0, "0.5 TH n_true"]
        == len(np.unique(tifffile.imread(workdir / "data/d2/test/label/tile-3.tif"))) - 1
    )
    assert 0 <= metrics.loc[0, "0.5 TH (post)f1"] <= 1
    # the predicted F and C channels against the encoded ground truth
    assert 0 < metrics.loc[0, "IoU F"] <= 1 and 0 <= metrics.loc[0, "IoU C"] <= 1
    # and per patch: the mean over the 48x48 cells the patch cores filled
    assert 0 < metrics.loc[0, "IoU F (per patch)"] <= 1
    labels = tifffile.imread(results / "per_image_instances" / "tile-3.tif")
    assert labels.dtype == np.uint16 and labels.shape == (256, 256)
    assert (
        not list((results / "patches").glob("*.npz")) if (results / "patches").exists() else True
    )  # temp patches removed


def test_the_report_holds_the_loss_chart_metrics_and_overlays(run2d):
    """`snakemake --report` (issue 16): captions from report/, one overlay per test image."""
    workdir, config = run2d
    report = workdir / "report.html"
    result = snakemake(workdir, "--configfile", str(config), "--report", str(report))
    assert result.returncode == 0, result.stderr[-3000:]
    html = report.read_text()
    for name in ("tiny2d_1_loss.png", "test_results_metrics.csv", "tile-3_overlay.png"):
        assert name in html, name
    assert "outlines of the final instances (yellow)" in html  # the overlay's caption


def test_a_watershed_change_reruns_decode_and_what_follows_only(run2d):
    workdir, config_path = run2d
    model = workdir / "results" / "tiny2d" / "checkpoints" / "tiny2d_1" / "model.pt"
    before = model.stat().st_mtime
    assert planned_jobs(snakemake(workdir, "--configfile", str(config_path), "-n")) == set()
    changed = yaml.safe_load(config_path.read_text())
    changed["PROBLEM"]["INSTANCE_SEG"]["WATERSHED"] = {
        "DATA_REMOVE_BEFORE_MW": True,
        "DATA_REMOVE_SMALL_OBJ_BEFORE": 20,
    }
    _write(config_path, changed)
    # tuning starts from the config's thresholds, so it reruns too; training does not (the
    # post-processing test runs such a plan; this one only asks for it)
    assert planned_jobs(snakemake(workdir, "--configfile", str(config_path), "-n")) == {
        "tune",
        "decode",
        "refine",
        "measure",
        "evaluate",
        "overlay",
    }
    assert model.stat().st_mtime == before
    # a training change reruns training and everything after it
    changed["TRAIN"]["LR"] = 1e-3
    _write(config_path, changed)
    assert {"train", "predict", "reconstruct", "decode"} <= planned_jobs(
        snakemake(workdir, "--configfile", str(config_path), "-n")
    )
    assert "encode" not in planned_jobs(snakemake(workdir, "--configfile", str(config_path), "-n"))


def test_bad_config_stops_before_any_job(tmp_path):
    bad = _write(tmp_path / "bad.yaml", {**TINY_2D, "TRAIN": {"EPOCH": 2}})
    result = snakemake(tmp_path, "--configfile", str(bad), "-n")
    assert result.returncode != 0
    assert "unknown key TRAIN.EPOCH; did you mean TRAIN.EPOCHS?" in result.stderr + result.stdout
    assert not (tmp_path / "results").exists()


def test_missing_data_folder_is_named(tmp_path):
    config = {k: v for k, v in TINY_2D.items() if k != "RUN"}
    result = snakemake(tmp_path, "--configfile", str(_write(tmp_path / "c.yaml", config)), "-n")
    assert (
        result.returncode != 0
        and "DATA.TRAIN.PATH data/d2/train/raw does not exist" in result.stderr + result.stdout
    )


def test_sharded_prediction_and_two_process_training_through_the_workflow(run2d, tmp_path):
    """RUN.TRAIN_GPUS 2 launches torch.distributed.run from the train rule (gloo on CPUs);
    RUN.PREDICT_SHARDS 2 predicts each image in two jobs that reconstruct blends."""
    workdir, _ = run2d
    config = yaml.safe_load(yaml.safe_dump(TINY_2D))
    config["RUN"].update({"PREDICT_SHARDS": 2, "TRAIN_GPUS": 2, "TUNE_THRESHOLDS": False})
    config["TRAIN"]["EPOCHS"] = 1
    path = _write(tmp_path / "sharded.yaml", config)
    shutil.copytree(workdir / "data", tmp_path / "data")
    dry = snakemake(tmp_path, "--configfile", str(path), "-n", "-p")
    assert "torch.distributed.run --standalone --nproc_per_node 2 -m stages train" in dry.stdout
    assert dry.stdout.count("--shard 1/2") == 1 and dry.stdout.count("--shard 2/2") == 1
    result = snakemake(tmp_path, "--configfile", str(path), "--resources", "gpu=2")
    assert result.returncode == 0, result.stderr[-3000:]
    results = tmp_path / "results" / "tiny2d" / "results" / "tiny2d_1"
    assert (
        "distributed training: 2 processes, backend gloo"
        in (results / "logs" / "train.log").read_text()
    )
    channels = tifffile.imread(results / "per_image" / "tile-3.tif")
    assert channels.shape == (2, 256, 256) and np.isfinite(channels).all()


def test_training_with_a_validation_folder(run2d, tmp_path):
    """DATA.VAL.FROM_TRAIN false: the train slice keeps DATA.VAL.PATH/GT_PATH and trains on them."""
    workdir, _ = run2d
    data = workdir / "data" / "d2"
    config = {
        **TINY_2D,
        "RUN": {"NAME": "valfolder"},
        "DATA": {
            **TINY_2D["DATA"],
            "TRAIN": {
                "PATH": str(data / "train" / "raw"),
                "GT_PATH": str(data / "train" / "label"),
                "REPLICATE": 1,
            },
            "VAL": {
                "FROM_TRAIN": False,
                "PATH": str(data / "test" / "raw"),
                "GT_PATH": str(data / "test" / "label"),
            },
        },
        "TRAIN": {**TINY_2D["TRAIN"], "EPOCHS": 1},
        "TEST": {"ENABLE": False},
    }
    path = _write(tmp_path / "val.yaml", config)
    result = snakemake(tmp_path, "--configfile", str(path))
    assert result.returncode == 0, result.stderr[-3000:]
    experiment = tmp_path / "results" / "valfolder"
    train_slice = yaml.safe_load(
        (experiment / "config_files" / "valfolder_1" / "train.yaml").read_text()
    )
    assert config["DATA"]["VAL"].items() <= train_slice["DATA"]["VAL"].items()
    log = (experiment / "results" / "valfolder_1" / "logs" / "train.log").read_text()
    # the test tile (one 256x256 image) gives the validation patches of 64x64: 16 cells
    assert "16 validation patch(es)" in log
    assert (experiment / "checkpoints" / "valfolder_1" / "model.pt").exists()


def test_preprocessed_images_train_and_predict_and_channels_come_back_to_size(run2d, tmp_path):
    """Issue 14, DATA.PREPROCESS: training, validation and test images resized (256 -> 128) and
    blurred by their own jobs, labels resized alike; the test tile's channels are predicted at
    128x128 and resized back, so its instances and metrics are at the tile's own size."""
    from stages.io import read_channels, read_labels

    workdir, _ = run2d
    data = workdir / "data" / "d2"
    config = {
        **TINY_2D,
        "RUN": {"NAME": "pre"},
        "DATA": {
            **TINY_2D["DATA"],
            "TRAIN": {
                "PATH": str(data / "train" / "raw"),
                "GT_PATH": str(data / "train" / "label"),
                "REPLICATE": 1,
            },  # fmt: skip
            "VAL": {
                "FROM_TRAIN": False,
                "PATH": str(data / "test" / "raw"),
                "GT_PATH": str(data / "test" / "label"),
            },  # fmt: skip
            "TEST": {
                **TINY_2D["DATA"]["TEST"],
                "PATH": str(data / "test" / "raw"),
                "GT_PATH": str(data / "test" / "label"),
            },  # fmt: skip
            "PREPROCESS": {
                "TRAIN": True,
                "VAL": True,
                "TEST": True,
                "RESIZE": {"ENABLE": True, "OUTPUT_SHAPE": "(128, 128)"},
                "GAUSSIAN_BLUR": {"ENABLE": True, "SIGMA": 0.5},
                # matched to the training tiles' histogram, pooled once for all five jobs
                "MATCH_HISTOGRAM": {"ENABLE": True, "REFERENCE_PATH": str(data / "train" / "raw")},
            },  # fmt: skip
        },
        "TRAIN": {**TINY_2D["TRAIN"], "EPOCHS": 1},
    }
    path = _write(tmp_path / "pre.yaml", config)
    result = snakemake(tmp_path, "--configfile", str(path))
    assert result.returncode == 0, result.stderr[-3000:]
    results = tmp_path / "results" / "pre" / "results" / "pre_1"
    for subset, count in (("train", 3), ("val", 1), ("test", 1)):
        raws = sorted((results / "preprocessed" / subset / "raw").glob("*.tif"))
        assert len(raws) == count and tifffile.imread(raws[0]).shape == (128, 128)
    assert (results / "preprocessed" / "reference_histogram.npz").exists()
    assert (
        "3 reference image(s)"
        in (results / "logs" / "preprocess" / "reference_histogram.log").read_text()
    )
    labels = sorted((results / "preprocessed" / "train" / "label").glob("*.tif"))
    assert [p.name for p in labels] == ["tile-0.tif", "tile-1.tif", "tile-2.tif"]
    assert tifffile.imread(labels[0]).shape == (128, 128)
    # the validation tile, resized to 128x128, gives 2x2 cells of 64x64 (16 at its own size)
    assert "4 validation patch(es)" in (results / "logs" / "train.log").read_text()
    small, _, _ = read_channels(results / "channels_resized" / "tile-3.tif")
    channels, _, _ = read_channels(results / "per_image" / "tile-3.tif")
    assert small.shape == (2, 128, 128) and channels.shape == (2, 256, 256)
    instances, _ = read_labels(results / "per_image_instances" / "tile-3.tif")
    assert instances.shape == (256, 256)
    metrics = pd.read_csv(results / "test_results_metrics.csv")
    assert list(metrics["file"]) == ["tile-3", "average"]
    # a histogram reference that is not there stops the workflow before any job, named
    config["DATA"]["PREPROCESS"]["MATCH_HISTOGRAM"]["REFERENCE_PATH"] = str(tmp_path / "none")
    config["RUN"] = {"NAME": "pre2"}
    result = snakemake(tmp_path, "--configfile", str(_write(tmp_path / "p2.yaml", config)), "-n")
    assert result.returncode != 0 and (
        f"MATCH_HISTOGRAM.REFERENCE_PATH {tmp_path / 'none'} does not exist"
        in result.stderr + result.stdout
    )


HOSTILE_TRAIN = ["nucleo 1", "y$(touch INJECTED)", 'it\'s "q"']
HOSTILE_TEST = ["núcleo ü `touch INJECTED`"]


def test_hostile_file_names_run_end_to_end_and_inject_nothing(run2d, tmp_path):
    """Spaces, quotes, $() and backticks in folder and file names are data, never shell."""
    workdir, _ = run2d
    data = tmp_path / "my data"
    for split, names in (("train", HOSTILE_TRAIN), ("test", HOSTILE_TEST)):
        tiles = sorted((workdir / "data" / "d2" / split / "raw").glob("*.tif"))
        for kind in ("raw", "label"):
            (data / split / kind).mkdir(parents=True)
            for tile, name in zip(tiles, names):
                shutil.copy(
                    tile.parent.parent / kind / tile.name, data / split / kind / f"{name}.tif"
                )
    config = {
        **TINY_2D,
        "RUN": {"NAME": "hostile", "RESULT_DIR": "my results"},
        "DATA": {
            **TINY_2D["DATA"],
            "TRAIN": {
                "PATH": "my data/train/raw",
                "GT_PATH": "my data/train/label",
                "REPLICATE": 1,
            },
            "TEST": {
                **TINY_2D["DATA"]["TEST"],
                "PATH": "my data/test/raw",
                "GT_PATH": "my data/test/label",
            },
        },
        "TRAIN": {**TINY_2D["TRAIN"], "EPOCHS": 1},
    }
    path = _write(tmp_path / "hostile.yaml", config)
    before = set(tmp_path.iterdir())
    result = snakemake(tmp_path, "--configfile", str(path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert not list(tmp_path.rglob("INJECTED")) and not (REPO / "INJECTED").exists()
    # nothing outside the results folder but Snakemake's own metadata
    assert set(tmp_path.iterdir()) - before == {tmp_path / "my results", tmp_path / ".snakemake"}
    results = tmp_path / "my results" / "hostile" / "results" / "hostile_1"
    name = HOSTILE_TEST[0]
    assert (results / "per_image_post_processing" / f"{name}.tif").exists()
    metrics = pd.read_csv(results / "test_results_metrics.csv")
    assert list(metrics["file"]) == [name, "average"]
    channels = sorted(p.stem for p in (results / "channels" / "train").glob("*.tif"))
    assert channels == sorted(HOSTILE_TRAIN)


def test_an_experiment_in_use_is_refused_and_left_alone(run2d, tmp_path):
    """Nothing is written before the locks: a run refused because another run holds the
    experiment folder (from another working directory) changes none of its files."""
    import socket

    workdir, config_path = run2d
    experiment = workdir / "results" / "tiny2d"
    stage_configs = {p: p.read_bytes() for p in (experiment / "config_files").rglob("*.yaml")}
    changed = yaml.safe_load(config_path.read_text())
    changed["TEST"]["MATCHING_STATS_THS"] = [0.4]
    changed["RUN"]["RESULT_DIR"] = str(workdir / "results")
    path = _write(tmp_path / "other.yaml", changed)
    lock = experiment / ".segpipe-lock-tiny2d_1"
    # a live run of this host: the test process itself
    lock.write_text(
        f'{{"host": "{socket.gethostname()}", "pid": {os.getpid()}, "workdir": "elsewhere"}}'
    )
    try:
        result = snakemake(tmp_path, "--configfile", str(path))
        assert result.returncode != 0
        assert (
            f"{experiment} run tiny2d_1 is in use by another segpipe workflow (pid {os.getpid()}"
            in (result.stderr + result.stdout)
        )
        assert {p: p.read_bytes() for p in stage_configs} == stage_configs
        assert not (tmp_path / "results").exists()
    finally:
        lock.unlink()
    # a dry run writes nothing either
    snakemake(tmp_path, "--configfile", str(path), "-n")
    assert {p: p.read_bytes() for p in stage_configs} == stage_configs


def test_post_processing_steps_each_rerun_alone(run2d, tmp_path):
    """MEDIAN_FILTER before decode; refinement, large-blob repair and removal by properties
    after it, each a rule reading the previous one's labels (issue 16). The run predicts with
    a model from another path (TRAIN.ENABLE false, MODEL.LOAD_CHECKPOINT with
    PATHS.CHECKPOINT_FILE); without any model it stops before any job, naming the keys to set
    (issue 14)."""
    workdir, _ = run2d
    shutil.copytree(workdir / "data", tmp_path / "data")
    model = tmp_path / "models" / "nuclei.pt"
    model.parent.mkdir()
    shutil.copy(workdir / "results/tiny2d/checkpoints/tiny2d_1/model.pt", model)
    without = {**TINY_2D, "RUN": {"NAME": "post"}, "TRAIN": {**TINY_2D["TRAIN"], "ENABLE": False}}
    missing = snakemake(tmp_path, "--configfile", str(_write(tmp_path / "m.yaml", without)), "-n")
    assert missing.returncode != 0 and "TRAIN.ENABLE is false but there is no model at" in (
        missing.stderr + missing.stdout
    )
    assert "PATHS.CHECKPOINT_FILE" in missing.stderr + missing.stdout
    # without a CHECKPOINT_FILE, the experiment's last epoch (MODEL.LOAD_CHECKPOINT_EPOCH)
    last = {
        **TINY_2D,
        "RUN": {**TINY_2D["RUN"], "TUNE_THRESHOLDS": False},
        "TRAIN": {**TINY_2D["TRAIN"], "ENABLE": False},
        "MODEL": {**TINY_2D["MODEL"], "LOAD_CHECKPOINT_EPOCH": "last_on_train"},
    }
    dry = snakemake(workdir, "--configfile", str(_write(tmp_path / "last.yaml", last)), "-n", "-p")
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert "checkpoints/tiny2d_1/model_last.pt" in dry.stdout
    post = {
        **TINY_2D["TEST"]["POST_PROCESSING"],
        "MEDIAN_FILTER": True,
        "MEDIAN_FILTER_AXIS": ["xy"],
        "MEDIAN_FILTER_SIZE": [3],
        "REPARE_LARGE_BLOBS_SIZE": 300,
        "MEASURE_PROPERTIES": {
            "ENABLE": True,
            "REMOVE_BY_PROPERTIES": {
                "ENABLE": True,
                "PROPS": [["npixels"]],
                "SIGNS": [["lt"]],
                "VALUES": [[60]],
            },
        },
    }
    config = {
        **TINY_2D,
        "RUN": {"NAME": "post"},
        "TRAIN": {**TINY_2D["TRAIN"], "ENABLE": False},
        "MODEL": {**TINY_2D["MODEL"], "LOAD_CHECKPOINT": True},
        "PATHS": {"CHECKPOINT_FILE": str(model)},
        "TEST": {"POST_PROCESSING": post},
    }
    path = _write(tmp_path / "post.yaml", config)
    dry = snakemake(tmp_path, "--configfile", str(path), "-n", "-p")
    assert "train" not in planned_jobs(dry) and f"--model {model}" in dry.stdout
    result = snakemake(tmp_path, "--configfile", str(path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (tmp_path / "results/post/checkpoints").exists()
    results = tmp_path / "results/post/results/post_1"
    for relative in (
        "per_image_median_filtered/tile-3.tif",
        "post_processing_steps/refine/tile-3.tif",
        "post_processing_steps/repair_large_blobs/tile-3.tif",
        "per_image_post_processing/tile-3.tif",
        "per_image_instances/tile-3_full_stats.csv",
        "per_image_post_processing/tile-3_filtered_stats.csv",
    ):
        assert (results / relative).is_file(), relative
    everything = pd.read_csv(results / "per_image_instances/tile-3_full_stats.csv")
    kept = pd.read_csv(results / "per_image_post_processing/tile-3_filtered_stats.csv")
    final = tifffile.imread(results / "per_image_post_processing/tile-3.tif")
    assert set(kept["label"]) == set(np.unique(final)[1:])
    assert set(everything.loc[everything.npixels < 60, "label"]).isdisjoint(kept["label"])
    assert (everything.loc[everything.npixels < 60, "comment"] == "Removed").all()
    metrics = pd.read_csv(results / "test_results_metrics.csv")
    assert "0.5 TH (post)f1" in metrics.columns
    assert metrics["0.5 TH f1"].iloc[-1] > 0  # the trained model found nuclei

    def rerun_after(section: dict, key: str, value) -> set[str]:
        section[key] = value
        _write(path, config)
        return planned_jobs(snakemake(tmp_path, "--configfile", str(path), "-n"))

    remove = post["MEASURE_PROPERTIES"]["REMOVE_BY_PROPERTIES"]
    assert rerun_after(remove, "VALUES", [[80]]) == {"filter_by_properties", "evaluate", "overlay"}
    assert rerun_after(post, "REPARE_LARGE_BLOBS_SIZE", 400) == {
        "repair_large_blobs",
        "filter_by_properties",
        "evaluate",
        "overlay",
    }
    assert rerun_after(post, "MEDIAN_FILTER_SIZE", [5]) == {
        "median_filter",
        "decode",
        "refine",
        "repair_large_blobs",
        "filter_by_properties",
        "evaluate",
        "overlay",
    }


def test_a_biapy_checkpoint_is_imported_then_predicts_as_the_model_it_holds(run2d, tmp_path):
    """PATHS.CHECKPOINT_FILE naming a checkpoint BiaPy saved: an import_biapy job turns it into
    a segpipe model first, which prediction uses, predicting as the network it holds; with
    TRAIN.ENABLE the same import is what training fine-tunes (issue 14 item 5)."""
    import torch

    from stages.nn.model import load_model

    from ..helpers import save_as_biapy_checkpoint

    workdir, _ = run2d
    shutil.copytree(workdir / "data", tmp_path / "data")
    trained = workdir / "results/tiny2d/checkpoints/tiny2d_1/model.pt"
    network, _ = load_model(trained)
    biapy = tmp_path / "biapy" / "nuclei-checkpoint-best.pth"
    biapy.parent.mkdir()
    biapy_config = {key: TINY_2D[key] for key in ("PROBLEM", "DATA", "MODEL")}
    save_as_biapy_checkpoint(network, torch.rand(1, 1, 64, 64), biapy_config, biapy)
    config = {
        **TINY_2D,
        "RUN": {"NAME": "frombiapy"},
        "TRAIN": {**TINY_2D["TRAIN"], "ENABLE": False},
        "MODEL": {**TINY_2D["MODEL"], "LOAD_CHECKPOINT": True},
        "PATHS": {"CHECKPOINT_FILE": str(biapy)},
    }
    path = _write(tmp_path / "biapy.yaml", config)
    result = snakemake(tmp_path, "--configfile", str(path))
    assert result.returncode == 0, result.stderr[-3000:]
    imported = tmp_path / "results/frombiapy/checkpoints/nuclei-checkpoint-best_imported.pt"
    assert imported.is_file() and load_model(imported)[1]["imported_from"]["file"] == str(biapy)
    ours = tifffile.imread(workdir / "results/tiny2d/results/tiny2d_1/per_image/tile-3.tif")
    theirs = tifffile.imread(
        tmp_path / "results/frombiapy/results/frombiapy_1/per_image/tile-3.tif"
    )
    np.testing.assert_allclose(theirs, ours, atol=1e-5)
    finetune = {**config, "TRAIN": {**TINY_2D["TRAIN"], "ENABLE": True}}
    dry = snakemake(tmp_path, "--configfile", str(_write(path, finetune)), "-n", "-p")
    assert dry.returncode == 0, dry.stderr[-3000:]
    relative = imported.relative_to(tmp_path)
    assert {"train"} <= planned_jobs(dry) and f"--init-model {relative} " in dry.stdout


def test_thresholds_tuned_after_training_are_what_decode_uses(run2d, tmp_path):
    """RUN.TUNE_THRESHOLDS (issue 16): tune after train, decode with its thresholds."""
    import json

    workdir, _ = run2d
    tuned_file = workdir / "results/tiny2d/checkpoints/tiny2d_1/tuned_thresholds.json"
    tuned = json.loads(tuned_file.read_text())
    assert tuned["decoder"] == "watershed" and tuned["f1_after"] >= tuned["f1_before"]
    labels = workdir / "results/tiny2d/results/tiny2d_1/per_image_instances/tile-3.tif"
    with tifffile.TiffFile(labels) as tif:
        used = json.loads(tif.pages[0].description)["settings"]
    assert list(used["seed_thresholds"].values())[0] == pytest.approx(
        tuned["thresholds"]["seed_thresholds"][0]
    )
    # without training there is nothing to tune on
    config = {**TINY_2D, "TRAIN": {**TINY_2D["TRAIN"], "ENABLE": False}}
    refused = snakemake(tmp_path, "--configfile", str(_write(tmp_path / "t2.yaml", config)), "-n")
    assert refused.returncode != 0 and "RUN.TUNE_THRESHOLDS tunes on the validation data" in (
        refused.stderr + refused.stdout
    )


def test_two_classes_through_the_workflow(run2d, tmp_path):
    """DATA.N_CLASSES 3 (issue 16): the demo tiles with a class channel (nucleus brightness
    above or below the median nucleus of the training tiles); the class head trains, decode
    writes two-channel labels, refinement keeps the classes, measurements and metrics carry
    them. Test images are predicted whole (TEST.FULL_IMG), and analysed as one 3D stack too
    (TEST.ANALIZE_2D_IMGS_AS_3D_STACK): median-filtered along Z, decoded, refined and
    evaluated in 3D."""
    from stages.io import read_channels, read_labels_and_classes, write_labels

    from ..helpers import classes_by_intensity, nucleus_brightness

    workdir, _ = run2d
    source = workdir / "data" / "d2"
    brightness = np.concatenate(
        [
            nucleus_brightness(
                tifffile.imread(label), tifffile.imread(source / "train/raw" / label.name)
            )
            for label in sorted((source / "train/label").glob("*.tif"))
        ]
    )
    threshold = float(np.median(brightness))
    # the three training tiles, and all four as test images (for the stack)
    tiles = sorted((source / "train/label").glob("*.tif")) + [source / "test/label/tile-3.tif"]
    for label_path in tiles:
        raw_path = label_path.parent.parent / "raw" / label_path.name
        labels, raw = tifffile.imread(label_path), tifffile.imread(raw_path)
        classes = classes_by_intensity(labels, raw, threshold)
        for split in ("train", "test") if label_path.name != "tile-3.tif" else ("test",):
            (tmp_path / split / "raw").mkdir(parents=True, exist_ok=True)
            shutil.copy(raw_path, tmp_path / split / "raw" / raw_path.name)
            write_labels(tmp_path / split / "label" / label_path.name, labels, classes=classes)
    data = {
        **TINY_2D["DATA"],
        "N_CLASSES": 3,
        "TRAIN": {"PATH": "train/raw", "GT_PATH": "train/label", "REPLICATE": 1},
        "TEST": {**TINY_2D["DATA"]["TEST"], "PATH": "test/raw", "GT_PATH": "test/label"},
    }
    # whole test images in one pass (TEST.FULL_IMG): full_image*/ instead of per_image*/; the
    # test images also as one 3D stack, median-filtered along Z
    post = {
        **TINY_2D["TEST"]["POST_PROCESSING"],
        "MEDIAN_FILTER": True,
        "MEDIAN_FILTER_AXIS": ["z"],
        "MEDIAN_FILTER_SIZE": [3],
        "REPARE_LARGE_BLOBS_SIZE": 5000,
    }
    test = {"FULL_IMG": True, "ANALIZE_2D_IMGS_AS_3D_STACK": True, "POST_PROCESSING": post}
    config = {**TINY_2D, "RUN": {"NAME": "classes"}, "DATA": data, "TEST": test}
    path = _write(tmp_path / "classes.yaml", config)
    result = snakemake(tmp_path, "--configfile", str(path))
    assert result.returncode == 0, result.stderr[-3000:]
    results = tmp_path / "results/classes/results/classes_1"
    assert not list(results.glob("per_image*"))
    _, planes, _ = read_channels(results / "full_image/tile-3.tif")
    assert planes == ["F", "C", "class 0", "class 1", "class 2"]
    truth, truth_classes, _ = read_labels_and_classes(tmp_path / "test/label/tile-3.tif", 2)
    for folder in ("full_image_instances", "full_image_post_processing"):
        labels, classes, _ = read_labels_and_classes(results / folder / "tile-3.tif", 2)
        assert classes is not None and labels.shape == truth.shape, folder
        assert set(np.unique(classes[labels > 0])) <= {1, 2} and not classes[labels == 0].any()
    stats = pd.read_csv(results / "full_image_post_processing/tile-3_full_stats.csv")
    assert list(stats.columns[:2]) == ["label", "class"]
    assert (results / "charts/tile-3_overlay.png").is_file()
    metrics = pd.read_csv(results / "test_results_metrics.csv")
    average = metrics.iloc[-1]
    for column in ("IoU (classes)", "0.5 TH (classes)f1", "0.5 TH (post)(class 1)f1"):
        assert column in metrics.columns, column
    assert 0 <= average["IoU (classes)"] <= 1
    # per class, the ground truth's nuclei of that class are counted
    tile = metrics.set_index("file").loc["tile-3"]
    for value in (1, 2):
        expected = len(np.unique(truth[truth_classes == value]))
        assert tile[f"0.5 TH (class {value})n_true"] == expected
    assert average["0.5 TH (classes)tp"] <= average["0.5 TH tp"]
    assert list(metrics["file"]) == [f"tile-{i}" for i in range(4)] + ["average"]
    # the stack: the four tiles' channels as one volume, Z-filtered, decoded and refined in 3D
    stack = results / "as_3d_stack"
    instances, stack_classes, _ = read_labels_and_classes(stack / "instances.tif", 3)
    refined = tifffile.imread(stack / "post_processing.tif")
    assert instances.shape == (4, 256, 256) and refined.shape == (4, 256, 256, 2)
    assert (stack / "post_processing_steps/refine.tif").is_file()  # then the blob repair
    assert stack_classes is not None and not stack_classes[instances == 0].any()
    assert not (stack / "channels.tif").exists()  # the stacked channels are temporary
    assert not (results / "full_image_median_filtered").exists()  # the Z filter went to the stack
    decode = yaml.safe_load(
        (tmp_path / "results/classes/config_files/classes_1/decode_as_3d_stack.yaml").read_text()
    )
    assert decode["PROBLEM"]["NDIM"] == "3D"
    stacked = pd.read_csv(stack / "test_results_metrics.csv")
    assert list(stacked["file"]) == ["instances", "average"]
    truth_stack = np.stack(
        [read_labels_and_classes(tmp_path / f"test/label/tile-{i}.tif", 2)[0] for i in range(4)]
    )
    assert stacked.loc[0, "0.5 TH n_true"] == len(np.unique(truth_stack)) - 1
    assert "0.5 TH (post)(classes)f1" in stacked.columns
    # a channel set that cannot be stacked is refused before any job
    config["PROBLEM"] = {"NDIM": "2D", "INSTANCE_SEG": {"DATA_CHANNELS": ["F", "H", "V"]}}
    refused = snakemake(tmp_path, "--configfile", str(_write(tmp_path / "hv.yaml", config)), "-n")
    assert refused.returncode != 0
    assert "the channels ['H', 'V'] are 2D vectors" in refused.stderr + refused.stdout


def test_a_zoo_package_of_the_run_predicts_as_its_model(run2d, tmp_path):
    """MODEL.BMZ.EXPORT.ENABLE adds one job, the package, to a finished run; a run that starts
    from that package (MODEL.SOURCE bmz, TRAIN.ENABLE false) predicts the same channel maps
    (issue 14, item 5)."""
    workdir, _ = run2d
    shutil.copytree(workdir, tmp_path / "run", symlinks=True)
    run = tmp_path / "run"
    model = {**TINY_2D["MODEL"], "BMZ": {"EXPORT": {"ENABLE": True, "TAGS": ["nuclei"]}}}
    path = _write(run / "export.yaml", {**TINY_2D, "MODEL": model})
    assert planned_jobs(snakemake(run, "--configfile", str(path), "-n")) == {"export_bmz"}
    result = snakemake(run, "--configfile", str(path))
    assert result.returncode == 0, result.stderr[-3000:]
    package = run / "results/tiny2d/checkpoints/tiny2d_1/bmz/tiny2d.zip"
    assert package.is_file()
    config = {
        **TINY_2D,
        "RUN": {"NAME": "frombmz", "DEMO_DATA": "stardist2d"},
        "TRAIN": {**TINY_2D["TRAIN"], "ENABLE": False},
        "MODEL": {**TINY_2D["MODEL"], "SOURCE": "bmz", "BMZ": {"SOURCE_MODEL_ID": str(package)}},
    }
    result = snakemake(run, "--configfile", str(_write(run / "bmz.yaml", config)))
    assert result.returncode == 0, result.stderr[-3000:]
    maps = "results/{0}/results/{0}_1/per_image/tile-3.tif"
    np.testing.assert_array_equal(
        tifffile.imread(run / maps.format("frombmz")), tifffile.imread(run / maps.format("tiny2d"))
    )


def _run_biapy_like(workdir: Path, tmp_path: Path, template: dict, name: str, **sections):
    """``template`` (a config of tests/config/test_biapy_configs.py) run on run2d's data with
    only its paths and sizes changed (and ``sections`` replaced); checks the test tile's
    metrics and returns the decode slice and the tile's predicted channels."""
    data = workdir / "data" / "d2"
    config = {
        **template,
        "RUN": {"NAME": name},
        "DATA": {
            **template["DATA"],
            "PATCH_SIZE": "(64, 64, 1)",
            "TRAIN": {**template["DATA"]["TRAIN"], "PATH": str(data / "train" / "raw"),
                      "GT_PATH": str(data / "train" / "label"), "REPLICATE": 1},
            "TEST": {**template["DATA"]["TEST"], "PATH": str(data / "test" / "raw"),
                     "GT_PATH": str(data / "test" / "label"), "PADDING": "(8, 8)"},
        },
        **sections,
    }  # fmt: skip
    result = snakemake(tmp_path, "--configfile", str(_write(tmp_path / f"{name}.yaml", config)))
    assert result.returncode == 0, result.stderr[-3000:]
    results = tmp_path / f"results/{name}/results/{name}_1"
    decode = yaml.safe_load(
        (tmp_path / f"results/{name}/config_files/{name}_1/decode.yaml").read_text()
    )
    metrics = pd.read_csv(results / "test_results_metrics.csv")
    assert list(metrics["file"]) == ["tile-3", "average"]
    assert 0 <= metrics.loc[0, "0.5 TH f1"] <= 1
    return decode, tifffile.imread(results / "per_image" / "tile-3.tif")


def test_a_config_with_the_keys_of_biapys_stardist_experiment_runs_end_to_end(run2d, tmp_path):
    """The StarDist sanity config of BiaPy's templates (tests/config/test_biapy_configs.py):
    Db + R channels, the stardist decoder, scale_range with percentile clipping; only its
    paths and sizes changed (issue 14, item 6)."""
    from tests.config.test_biapy_configs import STARDIST

    decode, channels = _run_biapy_like(
        run2d[0],
        tmp_path,
        STARDIST,
        "stardistlike",
        MODEL={**STARDIST["MODEL"], "FEATURE_MAPS": [8, 16], "NORMALIZATION": "bn"},
        TRAIN={"EPOCHS": 1, "BATCH_SIZE": 8},
    )
    assert decode["PROBLEM"]["INSTANCE_SEG"]["INSTANCE_CREATION_PROCESS"] == "stardist"
    assert channels.shape == (33, 256, 256)  # the 32 ray planes after Db


def test_a_config_with_the_keys_of_biapys_cellpose_experiment_runs_end_to_end(run2d, tmp_path):
    """The Cellpose sanity config of BiaPy's templates: F + Cellpose flows Gh, Gv, decoded by
    following the flows, zoom and elastic warps (the flows encoded again from the moved
    labels); only its paths and sizes changed."""
    from tests.config.test_biapy_configs import CELLPOSE

    decode, channels = _run_biapy_like(
        run2d[0],
        tmp_path,
        CELLPOSE,
        "cellposelike",
        MODEL={"ARCHITECTURE": "unet", "FEATURE_MAPS": [8, 16]},
        TRAIN={**CELLPOSE["TRAIN"], "EPOCHS": 1, "BATCH_SIZE": 8},
    )
    assert decode["PROBLEM"]["INSTANCE_SEG"]["CELLPOSE"]["FLOW_THRESHOLD"] == 0.4
    assert channels.shape == (3, 256, 256)


def _predict_with_run2d_model(workdir: Path, raw: Path, **run) -> dict:
    """TINY_2D segmenting the unlabelled test images in ``raw`` with run2d's model (no
    training), with ``run`` as its RUN section."""
    model = workdir / "results/tiny2d/checkpoints/tiny2d_1/model.pt"
    return {
        **TINY_2D,
        "RUN": run,
        "DATA": {**TINY_2D["DATA"], "TEST": {**TINY_2D["DATA"]["TEST"], "PATH": str(raw),
                                              "LOAD_GT": False}},
        "TRAIN": {**TINY_2D["TRAIN"], "ENABLE": False},
        "MODEL": {**TINY_2D["MODEL"], "LOAD_CHECKPOINT": True},
        "PATHS": {"CHECKPOINT_FILE": str(model)},
    }  # fmt: skip


def test_test_images_are_predicted_in_groups_of_predict_images_per_job(run2d, tmp_path):
    """RUN.PREDICT_IMAGES_PER_JOB: three test images, two a job: two predict jobs, the first
    with two images, and one reconstruct job per image (a dry run)."""
    workdir, _ = run2d
    raw = tmp_path / "test" / "raw"
    raw.mkdir(parents=True)
    for name in ("a", "b", "c"):
        shutil.copy(workdir / "data/d2/test/raw/tile-3.tif", raw / f"{name}.tif")
    config = _predict_with_run2d_model(workdir, raw, NAME="groups", PREDICT_IMAGES_PER_JOB=2)
    dry = snakemake(tmp_path, "--configfile", str(_write(tmp_path / "g.yaml", config)), "-n", "-p")
    assert dry.returncode == 0, dry.stderr[-3000:]
    stats = dry.stdout.split("Job stats:")[1]
    assert re.search(r"^predict\s+2$", stats, re.M) and re.search(r"^reconstruct\s+3$", stats, re.M)
    folder = re.escape(str(raw))
    assert re.search(rf"predict {folder}/a.tif {folder}/b.tif --out-dir \S+group0", dry.stdout)
    assert re.search(rf"predict {folder}/c.tif --out-dir \S+group1", dry.stdout)


def test_an_ome_zarr_test_image_is_segmented_and_written_back_for_napari(run2d, tmp_path):
    """Issue 17 item 1: a folder of OME-Zarr test images runs through the workflow, and
    RUN.OME_ZARR writes each with its instances as one OME-Zarr napari's reader opens."""
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Label, Reader

    from stages.containers import write_ome_zarr

    workdir, _ = run2d
    raw = tmp_path / "test" / "raw"
    image = tifffile.imread(workdir / "data/d2/test/raw/tile-3.tif")
    write_ome_zarr(raw / "tile-3.zarr", image[..., None], {})
    config = _predict_with_run2d_model(workdir, raw, NAME="zarr", OME_ZARR=True, REPORT_IMAGES=0)
    result = snakemake(tmp_path, "--configfile", str(_write(tmp_path / "z.yaml", config)))
    assert result.returncode == 0, result.stderr[-3000:]
    results = tmp_path / "results" / "zarr" / "results" / "zarr_1"
    written = results / "ome_zarr" / "tile-3.zarr"
    final = results / "per_image_post_processing" / "tile-3.tif"  # TINY_2D refines
    if not final.exists():
        final = results / "per_image_instances" / "tile-3.tif"
    instances = tifffile.imread(final)
    labels = [n for n in Reader(parse_url(str(written)))() if Label in map(type, n.specs)]
    assert [n.metadata["name"] for n in labels] == ["instances"]
    np.testing.assert_array_equal(np.asarray(labels[0].data[0]), instances)
    assert len(np.unique(instances)) > 5


def test_a_test_image_is_predicted_by_blocks_in_parallel_jobs(run2d, tmp_path):
    """Issue 17 items 2 and 6: with TEST.BY_CHUNKS, a test image (an OME-Zarr) is planned, its
    16 blocks are predicted by four jobs straight into a Zarr of channels equal to run2d's
    whole-image prediction, and decoded block by block (64x64 blocks rounded to whole steps of
    the patch grid: 72x72)."""
    from stages.containers import write_ome_zarr
    from stages.io import read_channels, read_labels
    from stages.postprocess import median_filter_channels, repair_large_blobs

    workdir, _ = run2d
    raw = tmp_path / "test" / "raw"
    image = tifffile.imread(workdir / "data/d2/test/raw/tile-3.tif")
    write_ome_zarr(raw / "tile-3.zarr", image[..., None], {})
    config = _predict_with_run2d_model(workdir, raw, NAME="blocks", REPORT_IMAGES=0)
    config["TEST"] = {**TINY_2D["TEST"], "BY_CHUNKS": {
        "ENABLE": True, "BLOCK_SIZE": [64, 64], "HALO": [48, 48], "BLOCKS_PER_JOB": 4,
        "DECODE_BLOCKS_PER_JOB": 4}}  # fmt: skip
    # the median filter of the channels, block by block into a Zarr decode reads; refinement
    # and removal by properties into Zarrs of labels
    removal = {"ENABLE": True, "PROPS": [["npixels"]], "VALUES": [[60]], "SIGNS": [["lt"]]}
    config["TEST"]["POST_PROCESSING"] = {
        **TINY_2D["TEST"]["POST_PROCESSING"],
        "MEDIAN_FILTER": True, "MEDIAN_FILTER_AXIS": ["xy"], "MEDIAN_FILTER_SIZE": [3],
        "MEASURE_PROPERTIES": {"ENABLE": True, "REMOVE_BY_PROPERTIES": removal},
        "REPARE_LARGE_BLOBS_SIZE": 300,
    }  # fmt: skip
    path = _write(tmp_path / "b.yaml", config)
    dry = snakemake(tmp_path, "--configfile", str(path), "-n")
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert {"plan_blocks", "plan_decode", "decode"} <= planned_jobs(dry)
    assert "predict" not in planned_jobs(dry)
    result = snakemake(tmp_path, "--configfile", str(path))
    assert result.returncode == 0, result.stderr[-3000:]
    results = tmp_path / "results" / "blocks" / "results" / "blocks_1"
    markers = sorted((results / "blocks" / "tile-3").glob("group*.json"))
    assert len(markers) == 4
    by_blocks, codes, _ = read_channels(results / "per_image" / "tile-3.zarr")
    whole, whole_codes, _ = read_channels(
        workdir / "results/tiny2d/results/tiny2d_1/per_image/tile-3.tif"
    )
    assert codes == whole_codes
    np.testing.assert_allclose(by_blocks, whole, rtol=1e-4, atol=1e-5)
    instances, _ = read_labels(results / "per_image_instances" / "tile-3.zarr")  # by blocks
    assert len(np.unique(instances)) > 5
    # decoded by four parallel jobs, their parts joined and removed; the same labels as
    # `segpipe decode` by blocks in one job
    decode_logs = sorted((results / "logs" / "decode_blocks").glob("tile-3.group*.log"))
    assert len(decode_logs) == 4 and not list((results / "blocks" / "tile-3").glob("*.zarr"))
    (decode_config,) = (tmp_path / "results" / "blocks" / "config_files").rglob("decode.yaml")
    channels = results / "per_image_median_filtered" / "tile-3.zarr"
    filtered, _, _ = read_channels(channels)
    np.testing.assert_array_equal(filtered, median_filter_channels(by_blocks, [("xy", 3)]))
    segpipe = Path(sys.executable).parent / "segpipe"
    one_job = subprocess.run(
        [segpipe, "decode", channels, tmp_path / "one.zarr", "--config", decode_config],
        capture_output=True,
        text=True,
    )
    assert one_job.returncode == 0, one_job.stderr[-2000:]
    np.testing.assert_array_equal(read_labels(tmp_path / "one.zarr")[0], instances)
    # refined block by block into a Zarr (TINY_2D's fill_holes, remove_small_objects), large
    # blobs repaired, then the instances under 60 pixels removed
    refined, _ = read_labels(results / "post_processing_steps" / "refine" / "tile-3.zarr")
    assert 5 < len(np.unique(refined)) <= len(np.unique(instances))
    repaired, _ = read_labels(results / "post_processing_steps/repair_large_blobs/tile-3.zarr")
    np.testing.assert_array_equal(repaired, repair_large_blobs(refined, 300))
    kept, _ = read_labels(results / "per_image_post_processing" / "tile-3.zarr")
    sizes = np.bincount(repaired.ravel())
    np.testing.assert_array_equal(kept, np.where(sizes[repaired] < 60, 0, repaired))
    measured = pd.read_csv(results / "per_image_instances" / "tile-3_full_stats.csv")
    assert len(measured) == len(np.unique(repaired)) - 1
    kept_rows = pd.read_csv(results / "per_image_post_processing" / "tile-3_filtered_stats.csv")
    assert len(kept_rows) == len(np.unique(kept)) - 1
    # nothing left to do: the blocks written into the Zarr after its plan rerun nothing
    again = snakemake(tmp_path, "--configfile", str(path), "-n")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


def test_training_read_from_disk_plans_no_encoding(run2d, tmp_path):
    """DATA.TRAIN.IN_MEMORY false: train reads and encodes patches itself, so no encode job
    is planned and train gets no channel folder (a dry run)."""
    workdir, _ = run2d
    config = {**TINY_2D, "RUN": {"NAME": "lazy", "DEMO_DATA": "stardist2d"},
              "DATA": {**TINY_2D["DATA"], "TRAIN": {**TINY_2D["DATA"]["TRAIN"],
                                                    "IN_MEMORY": False}}}  # fmt: skip
    shutil.copytree(workdir / "data", tmp_path / "data")
    dry = snakemake(tmp_path, "--configfile", str(_write(tmp_path / "l.yaml", config)), "-n", "-p")
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert "train" in planned_jobs(dry) and "encode" not in planned_jobs(dry)
    train = next(line for line in dry.stdout.splitlines() if " train --raw " in line)
    assert "--channels" not in train


def test_raw_and_labels_inside_zarr_containers_run_end_to_end(tmp_path):
    """BiaPy's INPUT_ZARR_MULTIPLE_DATA (its CI's SNEMI config): the real 3D nuclei, raw image
    and labels inside one Zarr container per volume, train read from disk, test predicted by
    blocks and scored against the labels inside its container; outputs named by container,
    nothing written into the data."""
    import zarr

    from stages.demo import stardist_data_folder
    from stages.io import read_labels

    image = tifffile.imread(stardist_data_folder() / "img3d.tif")
    mask = tifffile.imread(stardist_data_folder() / "mask3d.tif")
    parts = {"train/a": np.s_[:, :, :40], "train/b": np.s_[:, :, 17:], "test/vol": np.s_[...]}
    for name, part in parts.items():
        volumes = zarr.open_group(tmp_path / "data" / f"{name}.zarr", mode="w")
        volumes = volumes.create_group("volumes")
        volumes.create_array("raw", data=image[part], chunks=(16, 32, 32))
        volumes.create_group("labels").create_array("neuron_ids", data=mask[part])
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "data").rglob("*"))
    inside = {
        "INPUT_ZARR_MULTIPLE_DATA": True,
        "INPUT_ZARR_MULTIPLE_DATA_RAW_PATH": "volumes.raw",
        "INPUT_ZARR_MULTIPLE_DATA_GT_PATH": "volumes.labels.neuron_ids",
    }
    config = {
        "RUN": {"NAME": "snemi", "REPORT_IMAGES": 0},
        "PROBLEM": {"NDIM": "3D", "INSTANCE_SEG": {"DATA_CHANNELS": "BC"}},
        "DATA": {"PATCH_SIZE": "(16, 32, 32, 1)",
                 "TRAIN": {"PATH": "data/train", "IN_MEMORY": False, **inside},
                 "VAL": {"IN_MEMORY": False},
                 "TEST": {"PATH": "data/test", "PADDING": "(2, 4, 4)", **inside}},
        "MODEL": {"FEATURE_MAPS": [4, 8], "Z_DOWN": [1]},
        "TRAIN": {"EPOCHS": 1, "BATCH_SIZE": 2},
        "TEST": {"BY_CHUNKS": {"ENABLE": True}},
    }  # fmt: skip
    result = snakemake(tmp_path, "--configfile", str(_write(tmp_path / "s.yaml", config)))
    assert result.returncode == 0, result.stderr[-3000:]
    results = tmp_path / "results" / "snemi" / "results" / "snemi_1"
    metrics = pd.read_csv(results / "test_results_metrics.csv")
    assert metrics["file"].tolist()[0] == "vol"
    assert metrics["0.5 TH n_true"].tolist()[0] == len(np.unique(mask)) - 1  # labels inside
    predicted, _ = read_labels(results / "per_image_instances" / "vol.zarr")
    assert predicted.shape == mask.shape
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "data").rglob("*")) == before


def test_a_config_as_biapys_3x_gui_writes_it_runs_end_to_end(run2d, tmp_path):
    """The keys BiaPy's 3.x GUI writes (its create_yaml_file; our own values): the old
    channel string with the GUI's unchanged (1, 1) weights for three channels, DA_PROB,
    PROBABILITY_MAP, MINIMUM_FOREGROUND_PER, the old removal trio, DATA_CONTOUR_MODE,
    ERODE_AND_DILATE_FOREGROUND, BATCH_NORMALIZATION false, TEST.STATS: loads and runs."""
    workdir, _ = run2d
    data = workdir / "data" / "d2"
    gui = {
        "SYSTEM": {"NUM_CPUS": -1, "SEED": 0},
        "RUN": {"NAME": "gui"},
        "PROBLEM": {"TYPE": "INSTANCE_SEG", "NDIM": "2D", "INSTANCE_SEG": {
            "DATA_CHANNELS": "BCD", "DATA_CHANNEL_WEIGHTS": "(1, 1)", "DATA_CONTOUR_MODE": "inner",
            "DATA_MW_TH_TYPE": "auto", "DATA_MW_TH_BINARY_MASK": 0.5,
            "DATA_MW_TH_FOREGROUND": 0.4, "DATA_MW_TH_CONTOUR": 0.1, "DATA_MW_TH_DISTANCE": 1.0,
            "DISTANCE_CHANNEL_MASK": True, "ERODE_AND_DILATE_FOREGROUND": True,
            "FORE_EROSION_RADIUS": 2, "FORE_DILATION_RADIUS": 2}},
        "DATA": {"PATCH_SIZE": "(64, 64, 1)", "EXTRACT_RANDOM_PATCH": True,
                 "PROBABILITY_MAP": True, "W_FOREGROUND": 0.94, "W_BACKGROUND": 0.06,
                 "TRAIN": {"IN_MEMORY": True, "PATH": str(data / "train" / "raw"),
                           "GT_PATH": str(data / "train" / "label"), "REPLICATE": 1,
                           "OVERLAP": "(0,0)", "PADDING": "(0,0)", "MINIMUM_FOREGROUND_PER": 0},
                 "VAL": {"FROM_TRAIN": True, "SPLIT_TRAIN": 0.1, "RANDOM": True},
                 "TEST": {"IN_MEMORY": False, "LOAD_GT": True, "PATH": str(data / "test" / "raw"),
                          "GT_PATH": str(data / "test" / "label"), "OVERLAP": "(0,0)",
                          "PADDING": "(8,8)"}},
        "AUGMENTOR": {"ENABLE": True, "DA_PROB": 0.5, "AUG_SAMPLES": True, "AUG_NUM_SAMPLES": 2,
                      "VFLIP": True, "HFLIP": True, "ROT90": True, "RANDOM_ROT": True,
                      "RANDOM_ROT_RANGE": "(-180, 180)", "AFFINE_MODE": "reflect",
                      "ELASTIC": True, "G_BLUR": True, "G_SIGMA": "(1.0, 2.0)",
                      "BRIGHTNESS": True, "BRIGHTNESS_FACTOR": "(-0.1, 0.1)",
                      "BRIGHTNESS_MODE": "3D", "CUTOUT": True, "GRIDMASK": True},
        "MODEL": {"ARCHITECTURE": "unet", "FEATURE_MAPS": [8, 16], "DROPOUT_VALUES": [0, 0],
                  "BATCH_NORMALIZATION": False, "LAST_ACTIVATION": "sigmoid",
                  "Z_DOWN": [0], "LOAD_CHECKPOINT": False},
        "TRAIN": {"ENABLE": True, "OPTIMIZER": "ADAMW", "LR": 2e-3, "BATCH_SIZE": 8,
                  "EPOCHS": 1, "PATIENCE": -1},
        "TEST": {"ENABLE": True, "VERBOSE": True, "AUGMENTATION": False, "EVALUATE": True,
                 "STATS": {"PER_PATCH": True, "MERGE_PATCHES": True, "FULL_IMG": False},
                 "MATCHING_STATS": True, "MATCHING_STATS_THS": [0.3, 0.5, 0.75],
                 "POST_PROCESSING": {"REMOVE_BY_PROPERTIES": ["circularity"],
                                     "REMOVE_BY_PROPERTIES_VALUES": [0.2],
                                     "REMOVE_BY_PROPERTIES_SIGN": ["lt"],
                                     "CLEAR_BORDER": True}},
    }  # fmt: skip
    result = snakemake(tmp_path, "--configfile", str(_write(tmp_path / "gui.yaml", gui)))
    assert result.returncode == 0, result.stderr[-3000:]
    said = result.stderr
    assert "DATA_CHANNEL_WEIGHTS [1, 1] as [1, 1, 1]" in said
    assert "DATA_CONTOUR_MODE 'inner' as DATA_CHANNELS_EXTRA_OPTS C mode" in said
    results = tmp_path / "results/gui/results/gui_1"
    metrics = pd.read_csv(results / "test_results_metrics.csv")
    assert list(metrics["file"]) == ["tile-3", "average"]
    train = yaml.safe_load((tmp_path / "results/gui/config_files/gui_1/train.yaml").read_text())
    assert train["DATA"]["TRAIN"]["PROBABILITY_MAP"] is True
    assert train["PROBLEM"]["INSTANCE_SEG"]["DATA_CHANNELS_EXTRA_OPTS"]["C"] == {"mode": "inner"}
    assert len(list((results / "aug").glob("*"))) >= 2  # AUG_SAMPLES
