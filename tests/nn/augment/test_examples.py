import numpy as np
import tifffile

from stages.channels import encode_channels
from stages.nn.augment.examples import GRID_SPACING, write_examples
from stages.nn.augment.settings import AugmentSettings
from stages.nn.data import Sample


def test_examples_show_each_patch_before_and_after_with_a_grid(tmp_path, mask2d, img2d):
    labels = mask2d[:96, :96].astype(np.int64)
    sample = Sample(
        image=img2d[:96, :96].astype(np.float32)[np.newaxis],
        targets=encode_channels(labels, ["F", "C"]),
        foreground=labels > 0,
        labels=labels,
    )
    settings = AugmentSettings(probabilities={"random_rot": 1.0}, samples=3)
    (tmp_path / "aug").mkdir()
    (tmp_path / "aug" / "stale.tif").write_text("old")
    written = write_examples(tmp_path / "aug", [sample], (48, 48), settings, ["F", "C"], seed=0)
    assert written == 3
    names = sorted(p.name for p in (tmp_path / "aug").iterdir())
    assert names == sorted(
        f"{n}_{kind}.tif"
        for n in range(3)
        for kind in ("image", "augmented", "labels", "augmented_labels")
    )
    image = tifffile.imread(tmp_path / "aug" / "0_image.tif")
    assert image.shape == (48, 48)
    assert np.all(image[::GRID_SPACING] == image.max())  # the grid lines
    turned = tifffile.imread(tmp_path / "aug" / "0_augmented_labels.tif")
    before = tifffile.imread(tmp_path / "aug" / "0_labels.tif")
    assert set(np.unique(turned)) <= set(np.unique(before)) and not np.array_equal(turned, before)


def test_no_examples_when_not_asked(tmp_path, mask2d, img2d):
    sample = Sample(
        image=img2d[:64, :64].astype(np.float32)[np.newaxis],
        targets=encode_channels(mask2d[:64, :64], ["F"]),
        foreground=mask2d[:64, :64] > 0,
    )
    assert write_examples(tmp_path / "aug", [sample], (32, 32), AugmentSettings(), ["F"], 0) == 0
    assert not (tmp_path / "aug").exists()
