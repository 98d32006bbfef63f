"""Without --ndim or --config, encode, decode and evaluate take 2D or 3D from the file."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from stages.io import InputError, label_rank, read_labels, write_tiff


def test_encode_decode_evaluate_a_3d_volume_without_flags(tmp_path, run, mask3d):
    labels = tmp_path / "gt" / "vol.tif"
    write_tiff(labels, mask3d)
    channels = tmp_path / "channels.tif"
    result = run("encode", labels, channels, "--channels", "F,C")
    assert result.exit_code == 0, result.output
    assert tifffile.imread(channels).shape == (2, *mask3d.shape)
    decoded = tmp_path / "pred" / "vol.tif"
    result = run("decode", channels, decoded)
    assert result.exit_code == 0, result.output
    out = tifffile.imread(decoded)
    assert out.shape == mask3d.shape and out.max() == len(np.unique(mask3d)) - 1
    metrics = tmp_path / "metrics.csv"
    result = run("evaluate", "--gt", tmp_path / "gt", "--pred", tmp_path / "pred", "--out", metrics)
    assert result.exit_code == 0, result.output
    assert "0.5 TH f1" in metrics.read_text()


def test_a_config_still_decides(tmp_path, run, mask3d):
    labels = tmp_path / "vol.tif"
    write_tiff(labels, mask3d)
    config = tmp_path / "c.yaml"
    config.write_text("PROBLEM: {NDIM: 2D}\n")
    result = run("encode", labels, tmp_path / "c.tif", "--config", config)
    assert result.exit_code != 0 and "is not 2D" in result.output


@pytest.mark.parametrize(
    "shape, metadata, rank",
    [
        ((5, 6), {}, 2),
        ((5, 6, 1), {}, 2),
        ((4, 5, 6), {}, 3),
        ((4, 5, 6, 1), {}, 3),
        ((1, 5, 6), {"axes": "ZYX"}, 3),
    ],
)
def test_label_rank(shape, metadata, rank):
    assert label_rank(shape, metadata, "x.tif") == rank


def test_an_ambiguous_shape_names_the_file_and_the_flag(tmp_path):
    with pytest.raises(InputError, match="x.tif: cannot tell.*--ndim"):
        label_rank((2, 4, 5, 6), {}, "x.tif")
    path = tmp_path / "y.tif"
    tifffile.imwrite(path, np.zeros((3, 4, 5), np.uint16), photometric="minisblack")
    assert read_labels(path)[0].shape == (3, 4, 5)
