"""Every channel code trains (one tiny epoch, augmented), predicts and decodes through the
commands."""

import numpy as np
import pytest
import yaml

from stages.channels import plane_code
from stages.io import read_channels, read_tiff, write_tiff

SETS_2D = [
    ["F", "B"],
    ["F", "P"],
    ["F", "C"],
    ["F", "T"],
    ["F", "Db"],
    ["F", "Dc"],
    ["F", "Dn"],
    ["D", "C"],
    ["F", "H", "V"],
    ["Db", "V", "H"],
    ["Db", "R"],
    ["F", "R"],
    ["A"],
    ["E"],
]
SETS_3D = [["F", "C", "Db"], ["F", "Z", "V", "H"], ["Db", "R"], ["A"], ["E"]]
DECODER = {"R": "stardist", "E": "embeddings"}


def _run_chain(run, tmp_path, codes, ndim, raw, labels):
    for split in ("train", "test"):
        write_tiff(tmp_path / split / "raw" / "a.tif", raw[split])
        write_tiff(tmp_path / split / "label" / "a.tif", labels[split])
    patch = [32, 32, 1] if ndim == 2 else [8, 16, 16, 1]
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "PROBLEM": {"NDIM": f"{ndim}D", "INSTANCE_SEG": {"DATA_CHANNELS": codes}},
                "DATA": {
                    "PATCH_SIZE": patch,
                    "TRAIN": {"REPLICATE": 1},
                    "TEST": {"PADDING": [2] * ndim},
                },
                "MODEL": {
                    "FEATURE_MAPS": [4, 8],
                    "NORMALIZATION": "bn",
                    "Z_DOWN": [1] if ndim == 3 else [],
                },
                "TRAIN": {"EPOCHS": 1, "BATCH_SIZE": 2},
                "TEST": {"AUGMENTATION": True},
            }
        )
    )
    result = run(
        "train",
        "--raw",
        tmp_path / "train/raw",
        "--label",
        tmp_path / "train/label",
        "--out",
        tmp_path / "m",
        "--threads",
        "1",
        "--no-progress",
        "--config",
        config,
    )
    assert result.exit_code == 0, result.output
    assert (
        run(
            "predict",
            tmp_path / "test/raw/a.tif",
            tmp_path / "p.npz",
            "--model",
            tmp_path / "m/model.pt",
            "--config",
            config,
        ).exit_code
        == 0
    )
    assert run("reconstruct", tmp_path / "p.npz", "--out", tmp_path / "c.tif").exit_code == 0
    channels, found, _ = read_channels(tmp_path / "c.tif")
    assert (
        list(dict.fromkeys(plane_code(p) for p in found)) == codes and np.isfinite(channels).all()
    )
    result = run("decode", tmp_path / "c.tif", tmp_path / "l.tif", "--config", config)
    assert result.exit_code == 0, result.output
    decoder = next((DECODER[c] for c in codes if c in DECODER), "watershed")
    assert f"({decoder})" in result.output
    decoded, _ = read_tiff(tmp_path / "l.tif")
    assert decoded.shape == labels["test"].shape


@pytest.mark.parametrize("codes", SETS_2D, ids=["+".join(c) for c in SETS_2D])
def test_2d_channel_set(run, tmp_path, mask2d, img2d, codes):
    raw = {"train": img2d[:64, :64], "test": img2d[64:128, 64:128]}
    labels = {"train": mask2d[:64, :64], "test": mask2d[64:128, 64:128]}
    _run_chain(run, tmp_path, codes, 2, raw, labels)


@pytest.mark.parametrize("codes", SETS_3D, ids=["+".join(c) for c in SETS_3D])
def test_3d_channel_set(run, tmp_path, mask3d, codes):
    raw = {
        "train": (mask3d[:, :32, :32] > 0).astype(np.float32) + 0.1,
        "test": (mask3d[:, 29:, 25:] > 0).astype(np.float32) + 0.1,
    }
    labels = {"train": mask3d[:, :32, :32], "test": mask3d[:, 29:, 25:]}
    _run_chain(run, tmp_path, codes, 3, raw, labels)
