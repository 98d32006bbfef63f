"""Training samples read from disk patch by patch equal the same patches in memory."""

import numpy as np
import pytest
import zarr
from scipy import ndimage as ndi

from stages.channels import channel_planes
from stages.image_regions import float_slabs, open_raw_regions
from stages.nn.data import PatchSampler, Sample, at_most, split_validation
from stages.nn.layout import channel_layout
from stages.nn.lazy_samples import (
    EncodedRegions,
    ForegroundRegions,
    LabelRegions,
    NormalizedRegions,
)
from stages.nn.normalization import image_normalization, normalize_image

SETTINGS = {"type": "zero_mean_unit_variance", "perc_clip": True, "lower_perc": 1.0,
            "upper_perc": 99.8, "mean": None, "std": None}  # fmt: skip


def _store(path, array):
    stored = zarr.create_array(str(path), shape=array.shape, dtype=array.dtype,
                               chunks=tuple(min(s, 16) for s in array.shape))  # fmt: skip
    stored[...] = array
    stored.attrs["axes"] = "ZYX"[-array.ndim :]
    return open_raw_regions(path, array.ndim)[0]


@pytest.mark.parametrize("codes", [["F", "C"], ["B", "Db", "H", "V", "Z"], ["F", "P", "Dn"]])
def test_targets_encoded_from_a_patch_and_its_halo_equal_the_whole_encoding(
    tmp_path, mask3d, codes
):
    """Real 3D nuclei: each patch's targets, encoded from its labels grown by a halo of the
    largest nucleus's extent (twice that for Dn), equal the whole volume's encoding, at borders
    too."""
    layout = channel_layout(codes, {}, 3)
    whole = layout.training_targets(mask3d)
    labels = LabelRegions(_store(tmp_path / "l.zarr", mask3d.astype(np.uint16)))
    extent = np.max([[s.stop - s.start for s in b] for b in ndi.find_objects(mask3d) if b], 0)
    # Dn measures the distance to the nearest other nucleus: its halo must reach that one too
    halo = 2 * extent if "Dn" in codes else extent
    targets = EncodedRegions(labels, layout.training_targets, len(layout.planes), halo)
    assert targets.shape == whole.shape
    for corner in [(0, 0, 0), (7, 20, 13), (15, 45, 41), (3, 0, 30)]:
        box = tuple(slice(c, c + p) for c, p in zip(corner, (16, 16, 16)))
        np.testing.assert_allclose(
            targets[(slice(None), *box)], whole[(slice(None), *box)], atol=1e-5,
            err_msg=f"{codes} at {corner}",
        )  # fmt: skip
    assert len(channel_planes(codes, {}, 3)) == len(layout.planes)


def test_patches_of_a_volume_on_disk_are_normalised_as_in_memory(tmp_path, img3d, mask3d):
    raw = _store(tmp_path / "r.zarr", img3d)
    image = NormalizedRegions(raw, image_normalization(float_slabs(raw, "r.zarr"), SETTINGS))
    whole = np.moveaxis(normalize_image(img3d[..., np.newaxis], SETTINGS), -1, 0)
    box = (slice(None), slice(4, 20), slice(10, 42), slice(0, 32))
    assert image.shape == whole.shape
    np.testing.assert_allclose(image[box], whole[box], rtol=1e-6, atol=1e-6)
    labels = LabelRegions(_store(tmp_path / "l.zarr", mask3d.astype(np.uint16)))
    np.testing.assert_array_equal(ForegroundRegions(labels)[box[1:]], mask3d[box[1:]] > 0)
    with pytest.raises(IndexError, match="slice\\(None\\)"):
        image[box[1:]]


def test_patches_drawn_from_disk_never_touch_the_validation_cells(tmp_path, mask3d, rng):
    labels = LabelRegions(_store(tmp_path / "l.zarr", mask3d.astype(np.uint16)))
    sample = Sample(image=None, targets=None, foreground=ForegroundRegions(labels))
    patch = (8, 16, 16)
    held = split_validation([labels.shape], patch, 0.2, rng)
    sampler = PatchSampler([sample], patch, held, rng)
    blocked = np.zeros(labels.shape, bool)
    for start in held[0]:
        blocked[tuple(slice(s, s + p) for s, p in zip(start, patch))] = True
    starts = set()
    for _ in range(300):
        _, box = sampler.draw()
        assert not blocked[box].any()
        starts.add(tuple(b.start for b in box))
    assert len(starts) > 200  # drawn anywhere free, not from a few places
    assert 0 < sampler.patches_per_pass


def test_at_most_keeps_a_random_subset_of_the_cells(rng):
    cells = [[(0, i) for i in range(10)], [(1, i) for i in range(5)]]
    kept = at_most(cells, 6, rng)
    assert sum(map(len, kept)) == 6
    assert all(set(k) <= set(c) for k, c in zip(kept, cells))
    assert at_most(cells, 100, rng) == cells
