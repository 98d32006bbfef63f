"""Multi-process training through torch.distributed.run, on the CPU with the gloo backend."""

import os
import subprocess
import sys

import torch
import yaml

from stages.io import write_tiff
from stages.nn.model import load_model


def test_two_processes_train_one_model(tmp_path, mask2d, img2d):
    for split, corners in {"raw": [(0, 0), (0, 96)], "label": [(0, 0), (0, 96)]}.items():
        for index, (y, x) in enumerate(corners):
            source = img2d if split == "raw" else mask2d
            write_tiff(tmp_path / split / f"img-{index}.tif", source[y : y + 96, x : x + 96])
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "DATA": {"PATCH_SIZE": [32, 32, 1], "TRAIN": {"REPLICATE": 1}},
                "MODEL": {"FEATURE_MAPS": [4, 8], "NORMALIZATION": "bn"},
                "TRAIN": {"EPOCHS": 2, "BATCH_SIZE": 2},
            }
        )
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "stages",
            "train",
            "--raw",
            str(tmp_path / "raw"),
            "--label",
            str(tmp_path / "label"),
            "--out",
            str(tmp_path / "model"),
            "--threads",
            "1",
            "--no-progress",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "distributed training: 2 processes, backend gloo" in result.stderr
    assert result.stdout.count("best validation loss") == 1  # one process reports and writes
    model, meta = load_model(tmp_path / "model" / "model.pt")
    assert meta["processes"] == 2 and meta["epochs"] == 2
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert (tmp_path / "model" / "train_config.yaml").exists()
