"""Instance classes by hand (DATA.N_CLASSES 3): two-channel labels through train, predict,
decode, refine, measure and evaluate (issue 16)."""

import numpy as np
import pandas as pd
import pytest
import yaml

from stages.io import read_channels, read_labels_and_classes, write_labels, write_tiff

from ..helpers import classes_by_intensity


@pytest.fixture
def classed(tmp_path, mask2d, img2d):
    """64x64 crops of the 2D sample whose labels carry classes by nucleus brightness."""
    classes = classes_by_intensity(mask2d, img2d)
    crops = {"train": [(0, 0), (0, 64), (64, 0)], "test": [(256, 256)]}
    for split, corners in crops.items():
        for index, (y, x) in enumerate(corners):
            box = (slice(y, y + 64), slice(x, x + 64))
            write_tiff(tmp_path / split / "raw" / f"img-{index}.tif", img2d[box])
            write_labels(
                tmp_path / split / "label" / f"img-{index}.tif", mask2d[box], classes=classes[box]
            )
    config = {
        "DATA": {
            "N_CLASSES": 3,
            "PATCH_SIZE": "(32, 32, 1)",
            "TEST": {"PADDING": "(4, 4)", "OVERLAP": "(0.25, 0.25)"},
            "TRAIN": {"REPLICATE": 1},
        },
        "LOSS": {"CLASS_WEIGHTS": [0.5, 1.0, 1.0]},
        "MODEL": {"FEATURE_MAPS": [4, 8], "NORMALIZATION": "bn"},
        "TRAIN": {"EPOCHS": 2, "BATCH_SIZE": 4, "LR": 2e-3},
        "TEST": {
            "POST_PROCESSING": {
                "INSTANCE_REFINEMENT": {
                    "ENABLE": True,
                    "OPERATIONS": ["dilation"],
                    "VALUES": [1],
                }
            }
        },
    }
    (tmp_path / "classes.yaml").write_text(yaml.safe_dump(config))
    return tmp_path, tmp_path / "classes.yaml"


def test_two_class_chain_by_hand(run, classed):
    folder, config = classed
    assert run("check", "--raw", folder / "train/raw", "--label", folder / "train/label",
               "--config", config).exit_code == 0  # fmt: skip
    result = run(
        "train", "--raw", folder / "train/raw", "--label", folder / "train/label",
        "--out", folder / "model", "--threads", "1", "--no-progress", "--config", config,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    result = run("predict", folder / "test/raw/img-0.tif", folder / "p.npz",
                 "--model", folder / "model/model.pt", "--config", config)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        run("reconstruct", folder / "p.npz", "--out", folder / "per_image/img-0.tif").exit_code == 0
    )
    channels, planes, _ = read_channels(folder / "per_image/img-0.tif")
    assert planes == ["F", "C", "class 0", "class 1", "class 2"]
    # the class head is one softmax
    np.testing.assert_allclose(channels[2:].sum(axis=0), 1.0, atol=1e-4)
    result = run("decode", folder / "per_image/img-0.tif", folder / "inst/img-0.tif",
                 "--config", config)  # fmt: skip
    assert result.exit_code == 0, result.output
    instances, classes, _ = read_labels_and_classes(folder / "inst/img-0.tif", 2)
    assert classes is not None and instances.shape == classes.shape == (64, 64)
    # one class per instance, none on background
    assert not classes[instances == 0].any()
    for value in np.unique(instances)[1:]:
        assert len(np.unique(classes[instances == value])) == 1
    assert set(np.unique(classes[instances > 0])) <= {1, 2}
    result = run("refine", folder / "inst/img-0.tif", folder / "post/img-0.tif", "--config", config)
    assert result.exit_code == 0, result.output
    grown, grown_classes, _ = read_labels_and_classes(folder / "post/img-0.tif", 2)
    assert grown_classes is not None and (grown_classes > 0).sum() >= (classes > 0).sum()
    result = run("measure", folder / "post/img-0.tif", folder / "stats.csv", "--config", config)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(folder / "stats.csv")
    assert list(table.columns[:2]) == ["label", "class"] and set(table["class"]) <= {1, 2}
    result = run("evaluate", "--pred", folder / "inst", "--post", folder / "post",
                 "--gt", folder / "test/label", "--out", folder / "metrics.csv",
                 "--thresholds", "0.5", "--config", config)  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = pd.read_csv(folder / "metrics.csv")
    for column in ("IoU (classes)", "0.5 TH (classes)f1", "0.5 TH (post)(classes)f1"):
        assert column in metrics.columns, column
    per_class = [c for c in metrics.columns if c.startswith("0.5 TH (class ")]
    assert per_class and all(
        c.startswith(("0.5 TH (class 1)", "0.5 TH (class 2)")) for c in per_class
    )
    # class-aware matching can only lose matches
    assert (metrics["0.5 TH (classes)tp"] <= metrics["0.5 TH tp"]).all()


def test_labels_without_classes_or_with_too_many_are_named(run, classed, mask2d, img2d):
    folder, config = classed
    bad = folder / "bad"
    write_tiff(bad / "raw/img-0.tif", img2d[:64, :64])
    write_labels(bad / "label/img-0.tif", mask2d[:64, :64])  # no class channel
    for command in (
        ["check", "--raw", bad / "raw", "--label", bad / "label", "--config", config],
        ["train", "--raw", bad / "raw", "--label", bad / "label", "--out", bad / "model",
         "--no-progress", "--config", config],
    ):  # fmt: skip
        result = run(*command)
        assert result.exit_code == 1
        assert f"{bad / 'label/img-0.tif'}: DATA.N_CLASSES is 3, so label images need two" in (
            result.output
        )
    classes = np.full((64, 64), 3, np.uint8) * (mask2d[:64, :64] > 0)
    write_labels(bad / "label/img-0.tif", mask2d[:64, :64], classes=classes)
    result = run("check", "--raw", bad / "raw", "--label", bad / "label", "--config", config)
    assert result.exit_code == 1 and "class id 3 in the class channel, but DATA.N_CLASSES is 3" in (
        result.output
    )
    result = run("train", "--raw", bad / "raw", "--label", bad / "label", "--out", bad / "model",
                 "--no-progress", "--config", config)  # fmt: skip
    assert result.exit_code == 1 and "class id 3 found, but DATA.N_CLASSES is 3" in result.output
    assert not (bad / "model").exists()
