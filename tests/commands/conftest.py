"""A tiny real dataset for CLI tests: two 64x64 crops of stardist's 2D sample per split."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from stages.cli import cli
from stages.io import write_tiff


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.fixture
def dataset(tmp_path, mask2d, img2d):
    crops = {"train": [(0, 0), (0, 64)], "test": [(256, 256)]}
    for split, corners in crops.items():
        for index, (y, x) in enumerate(corners):
            write_tiff(tmp_path / split / "raw" / f"img-{index}.tif", img2d[y : y + 64, x : x + 64])
            write_tiff(
                tmp_path / split / "label" / f"img-{index}.tif", mask2d[y : y + 64, x : x + 64]
            )
    return tmp_path


@pytest.fixture
def tiny_config(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "DATA": {
                    "PATCH_SIZE": "(32, 32, 1)",
                    "TEST": {"PADDING": "(4, 4)", "OVERLAP": "(0.25, 0.25)"},
                    "TRAIN": {"REPLICATE": 1},
                },
                "MODEL": {"FEATURE_MAPS": [4, 8], "NORMALIZATION": "bn"},
                "TRAIN": {"EPOCHS": 1, "BATCH_SIZE": 4},
                "TEST": {
                    "POST_PROCESSING": {
                        "INSTANCE_REFINEMENT": {
                            "ENABLE": True,
                            "OPERATIONS": ["remove_small_objects"],
                            "VALUES": [5],
                        }
                    }
                },
            }
        )
    )
    return path


def no_partial_files(folder) -> bool:
    """No temporary file was left behind by an atomic writer."""
    return not [p for p in folder.rglob("*.tmp*")]


@pytest.fixture
def trained(run, dataset, tiny_config, tmp_path):
    for name in ("img-0", "img-1"):
        assert (
            run(
                "encode",
                dataset / f"train/label/{name}.tif",
                tmp_path / "ch" / f"{name}.tif",
                "--config",
                tiny_config,
            ).exit_code
            == 0
        )
    result = run(
        "train",
        "--raw",
        dataset / "train/raw",
        "--label",
        dataset / "train/label",
        "--channels",
        tmp_path / "ch",
        "--out",
        tmp_path / "model",
        "--threads",
        "1",
        "--no-progress",
        "--config",
        tiny_config,
    )
    assert result.exit_code == 0, result.output
    return tmp_path / "model" / "model.pt"
