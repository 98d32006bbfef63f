"""The README's "Your own data", followed word for word on a 3D volume laid out another way."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import tifffile
import yaml

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.workflow


def test_the_3d_example_runs_on_a_volume_under_other_names(tmp_path, no_slurm_controller_queries):
    readme = (REPO / "README.md").read_text()
    assert "config/examples/3d.yaml" in readme and "segpipe run my.yaml --cores 8" in readme
    # the 3D sample, named and laid out as a user's own data would be
    sample = tmp_path / "sample"
    segpipe = Path(sys.executable).parent / "segpipe"
    subprocess.run(
        [str(segpipe), "demo-data", "--sample", "stardist3d", "--out", str(sample)], check=True
    )
    project = tmp_path / "lab project"
    for split, kind, folder, suffix in (
        ("train", "raw", "stacks/training/images", ""),
        ("train", "label", "stacks/training/masks", "_mask"),
        ("test", "raw", "stacks/new/images", ""),
        ("test", "label", "stacks/new/masks", "_mask"),
    ):
        (project / folder).mkdir(parents=True)
        for index, tile in enumerate(sorted((sample / split / kind).glob("*.tif"))):
            shutil.copy(tile, project / folder / f"embryo{index:02d}{suffix}.tif")
    # "start from config/examples/3d.yaml, set RUN.DEMO_DATA "", RUN.NAME and DATA.*.PATH"
    config = yaml.safe_load((REPO / "config" / "examples" / "3d.yaml").read_text())
    config["RUN"].update({"DEMO_DATA": "", "NAME": "embryos"})
    config["DATA"]["TRAIN"].update(
        {"PATH": "stacks/training/images", "GT_PATH": "stacks/training/masks"}
    )
    config["DATA"]["TEST"].update({"PATH": "stacks/new/images", "GT_PATH": "stacks/new/masks"})
    # half the example's epochs, to keep the suite short (measured 2026-12-03 on the held-out
    # tile: F1@0.5 0.88 after 10 epochs, 0.91 after the example's 20)
    config["TRAIN"]["EPOCHS"] = 10
    (project / "my.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    result = subprocess.run(
        [str(segpipe), "run", "my.yaml", "--cores", "2"],
        cwd=project,
        env={**os.environ, "PATH": f"{no_slurm_controller_queries}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert "segpipe: train: epoch 10/10" in result.stderr
    metrics = pd.read_csv(project / "results/embryos/results/embryos_1/test_results_metrics.csv")
    assert list(metrics["file"]) == ["embryo00", "average"]
    # a trained model, not a chance one: most nuclei of the held-out tile found
    assert metrics["0.5 TH f1"].iloc[-1] > 0.5
    assert "0.75 TH panoptic_quality" in metrics.columns
    # the 3D tree: labels of the volume's shape, 3D measurements
    results = project / "results/embryos/results/embryos_1"
    labels = tifffile.imread(results / "per_image_instances" / "embryo00.tif")
    assert labels.shape == tifffile.imread(project / "stacks/new/masks/embryo00_mask.tif").shape
    stats = pd.read_csv(results / "per_image_instances" / "embryo00_full_stats.csv")
    assert {"volume", "surface_area", "sphericity"} <= set(stats.columns)
