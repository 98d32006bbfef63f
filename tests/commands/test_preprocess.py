"""segpipe preprocess and resize-channels: BiaPy's DATA.PREPROCESS on real images."""

import numpy as np
import tifffile
import yaml

from stages.io import read_channels, read_labels, read_raw, write_tiff
from stages.preprocess import gaussian_blur


def _config(tmp_path, ndim: str = "2D", **preprocess) -> str:
    path = tmp_path / f"c{len(list(tmp_path.glob('c*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump({
        "PROBLEM": {"NDIM": ndim},
        "DATA": {"PATCH_SIZE": [64, 64, 1] if ndim == "2D" else [8, 32, 32, 1],
                 "PREPROCESS": {"TRAIN": True, "TEST": True, **preprocess}},
    }))  # fmt: skip
    return str(path)


def test_an_image_and_its_labels_are_resized_and_blurred(run, tmp_path, img2d, mask2d):
    write_tiff(tmp_path / "raw.tif", img2d, spacing=(0.5, 0.5))
    write_tiff(tmp_path / "label.tif", mask2d)
    config = _config(tmp_path, RESIZE={"ENABLE": True, "OUTPUT_SHAPE": "(256, 256)"},
                     GAUSSIAN_BLUR={"ENABLE": True, "SIGMA": 1.5})  # fmt: skip
    labels = ("--labels", tmp_path / "label.tif", tmp_path / "out_label.tif")
    result = run("preprocess", tmp_path / "raw.tif", tmp_path / "out.tif", *labels, "--config",
                 config)  # fmt: skip
    assert result.exit_code == 0, result.output
    image, info = read_raw(tmp_path / "out.tif", 2)
    assert image.shape == (256, 256, 1) and image.dtype == np.uint16
    assert info.spacing == (1.0, 1.0)  # the same field of view in half the pixels
    labels, _ = read_labels(tmp_path / "out_label.tif", 2)
    assert labels.shape == (256, 256) and set(np.unique(labels)) <= set(np.unique(mask2d))
    assert len(np.unique(labels)) > 100
    # resized first, then blurred (BiaPy's order)
    from stages.preprocess import ResizeSettings, resize_image

    expected = gaussian_blur(resize_image(img2d[..., None], ResizeSettings((256, 256))), 1.5)
    np.testing.assert_array_equal(image, expected)
    assert tifffile.TiffFile(tmp_path / "out.tif").shaped_metadata[0]["original_shape"] == [
        512,
        512,
    ]


def test_channels_are_resized_back_to_the_images_shape(run, tmp_path, img2d, mask2d):
    from stages.channels import encode_channels

    write_tiff(tmp_path / "raw.tif", img2d)
    small = encode_channels(mask2d[::2, ::2], ["F", "C"])
    write_tiff(tmp_path / "small.tif", small, metadata={"channels": ["F", "C"]})
    config = _config(tmp_path, RESIZE={"ENABLE": True, "OUTPUT_SHAPE": [256, 256]})
    result = run("resize-channels", tmp_path / "small.tif", tmp_path / "back.tif", "--shape-of",
                 tmp_path / "raw.tif", "--config", config)  # fmt: skip
    assert result.exit_code == 0, result.output
    back, planes, _ = read_channels(tmp_path / "back.tif")
    assert planes == ["F", "C"] and back.shape == (2, 512, 512)
    assert ((back[0] > 0.5) == (mask2d > 0)).mean() > 0.97
    # without RESIZE there is nothing to resize back
    config = _config(tmp_path, GAUSSIAN_BLUR={"ENABLE": True})
    result = run("resize-channels", tmp_path / "small.tif", tmp_path / "x.tif", "--shape-of",
                 tmp_path / "raw.tif", "--config", config)  # fmt: skip
    assert result.exit_code != 0 and "DATA.PREPROCESS.RESIZE is off" in result.output
    assert not (tmp_path / "x.tif").exists()


def test_a_3d_volume_is_equalised_and_matched_to_a_reference_folder(run, tmp_path, img3d):
    write_tiff(tmp_path / "vol.tif", img3d)
    (tmp_path / "reference").mkdir()
    write_tiff(tmp_path / "reference" / "a.tif", (img3d // 2).astype(np.uint16))
    config = _config(tmp_path, "3D", MATCH_HISTOGRAM={
        "ENABLE": True, "REFERENCE_PATH": str(tmp_path / "reference")}, MEDIAN_BLUR={
        "ENABLE": True, "KERNEL_SIZE": [1, 3, 3, 1]})  # fmt: skip
    result = run("preprocess", tmp_path / "vol.tif", tmp_path / "out.tif", "--config", config)
    assert result.exit_code == 0, result.output
    matched, _ = read_raw(tmp_path / "out.tif", 3)
    assert matched.shape == img3d.shape + (1,)
    # the reference's intensities: half the original's
    assert abs(np.median(matched) - np.median(img3d) / 2) <= 2
    # the workflow's way: the reference pooled once, then read by each preprocess job
    histogram = tmp_path / "reference_histogram.npz"
    result = run("reference-histogram", histogram, "--config", config)
    assert result.exit_code == 0 and "1 reference image(s)" in result.output, result.output
    (tmp_path / "reference" / "a.tif").unlink()  # the jobs no longer read the reference
    result = run("preprocess", tmp_path / "vol.tif", tmp_path / "out2.tif", "--histogram",
                 histogram, "--config", config)  # fmt: skip
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(read_raw(tmp_path / "out2.tif", 3)[0], matched)
    config = _config(tmp_path, "3D", CLAHE={"ENABLE": True, "KERNEL_SIZE": [8, 16, 16]})
    result = run("preprocess", tmp_path / "vol.tif", tmp_path / "eq.tif", "--config", config)
    assert result.exit_code == 0, result.output
    equalised, _ = read_raw(tmp_path / "eq.tif", 3)
    assert equalised.dtype == np.uint16 and equalised.max() > 50000


def test_bad_preprocessing_inputs_are_named(run, tmp_path, img2d, mask2d):
    import pytest

    from stages.config import ConfigError, resolve_config

    write_tiff(tmp_path / "raw.tif", img2d)
    nowhere = {"ENABLE": True, "REFERENCE_PATH": str(tmp_path / "nowhere")}
    config = _config(tmp_path, MATCH_HISTOGRAM=nowhere)
    result = run("preprocess", tmp_path / "raw.tif", tmp_path / "out.tif", "--config", config)
    assert result.exit_code != 0 and f"REFERENCE_PATH {tmp_path / 'nowhere'} does not exist" in (
        result.output
    )
    assert not (tmp_path / "out.tif").exists()
    result = run("reference-histogram", tmp_path / "h.npz", "--config", config)
    assert result.exit_code != 0 and "does not exist" in result.output
    assert not (tmp_path / "h.npz").exists()
    (tmp_path / "bad.npz").write_bytes(b"not a histogram")
    config = _config(tmp_path, MATCH_HISTOGRAM={"ENABLE": True, "REFERENCE_PATH": str(
        tmp_path / "raw.tif")})  # fmt: skip
    result = run("preprocess", tmp_path / "raw.tif", tmp_path / "out.tif", "--histogram",
                 tmp_path / "bad.npz", "--config", config)  # fmt: skip
    assert result.exit_code != 0 and "bad.npz is not a reference histogram" in result.output
    assert not (tmp_path / "out.tif").exists()
    result = run("reference-histogram", tmp_path / "h.npz", "--config", _config(tmp_path))
    assert result.exit_code != 0 and "MATCH_HISTOGRAM.ENABLE is false" in result.output
    write_tiff(tmp_path / "label.tif", mask2d[:100])
    config = _config(tmp_path, RESIZE={"ENABLE": True, "OUTPUT_SHAPE": [256, 256]})
    result = run("preprocess", tmp_path / "raw.tif", tmp_path / "out.tif", "--labels",
                 tmp_path / "label.tif", tmp_path / "l.tif", "--config", config)  # fmt: skip
    assert result.exit_code != 0 and "labels of shape (100, 512)" in result.output
    assert not (tmp_path / "out.tif").exists() and not (tmp_path / "l.tif").exists()
    # configs refused before any job, each naming its key
    for preprocess, key in (
        ({"RESIZE": {"ENABLE": True, "OUTPUT_SHAPE": [32, 32]}}, "smaller than DATA.PATCH_SIZE"),
        ({"RESIZE": {"ENABLE": True, "OUTPUT_SHAPE": [9, 32, 32, 2]}}, "RESIZE.OUTPUT_SHAPE"),
        ({"MEDIAN_BLUR": {"ENABLE": True, "KERNEL_SIZE": [3]}}, "MEDIAN_BLUR.KERNEL_SIZE"),
        ({"CLAHE": {"ENABLE": True, "KERNEL_SIZE": [3, 3, 3]}}, "CLAHE.KERNEL_SIZE"),
    ):
        with pytest.raises(ConfigError, match=key):
            resolve_config(yaml.safe_load(open(_config(tmp_path, **preprocess))))
    with pytest.raises(ConfigError, match="Canny edges are for 2D images only"):
        resolve_config(yaml.safe_load(open(_config(tmp_path, "3D", CANNY={"ENABLE": True}))))
    chunks = yaml.safe_load(open(_config(tmp_path)))
    chunks["TEST"] = {"BY_CHUNKS": {"ENABLE": True}}
    with pytest.raises(ConfigError, match="DATA.PREPROCESS.TEST: test images are preprocessed"):
        resolve_config(chunks)
    # BiaPy's 2D default shape reads as a cube in 3D
    config, _ = resolve_config(yaml.safe_load(open(_config(tmp_path, "3D", RESIZE={
        "ENABLE": True}))))  # fmt: skip
    assert config["DATA"]["PREPROCESS"]["RESIZE"]["OUTPUT_SHAPE"] == [512, 512, 512]
