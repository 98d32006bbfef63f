import numpy as np
import pytest
import torch

from stages.nn.augment import regions
from stages.nn.augment.dice import Dice


def test_random_boxes_have_the_asked_fraction_and_fit():
    dice = Dice(0)
    for _ in range(20):
        box = regions.random_box((10, 40, 60), 0.25, dice, whole_z=True)
        assert box[0] == slice(None)
        assert box[1].stop - box[1].start == 10 and box[2].stop - box[2].start == 15
        assert box[1].stop <= 40 and box[2].stop <= 60


def test_cutout_fills_the_boxes_and_optionally_the_labels():
    patch = torch.ones(2, 16, 16)
    labels = torch.full((16, 16), 3)
    box = (slice(2, 6), slice(4, 8))
    regions.cutout(patch, labels, [box], 0.5, to_labels=False)
    assert float(patch[(slice(None), *box)].max()) == 0.5 and int(labels.min()) == 3
    regions.cutout(patch, labels, [box], 0.5, to_labels=True)
    assert int(labels[box].max()) == 0 and int((labels == 0).sum()) == 16


def test_cutmix_pastes_the_donor_box_with_ids_apart(mask2d):
    labels = torch.from_numpy(mask2d[:64, :64].astype(np.int64))
    donor_labels = torch.from_numpy(mask2d[64:128, 64:128].astype(np.int64))
    patch, donor = torch.zeros(1, 64, 64), torch.ones(1, 64, 64)
    target_box, donor_box = (slice(0, 32), slice(0, 32)), (slice(10, 42), slice(20, 52))
    before_max = int(labels.max())
    regions.cutmix(patch, labels, None, (donor, donor_labels, None), target_box, donor_box)
    assert float(patch[0, :32, :32].min()) == 1.0 and float(patch[0, 32:].max()) == 0.0
    pasted = labels[target_box]
    source = donor_labels[donor_box]
    assert torch.equal(pasted > 0, source > 0)
    assert int(pasted[pasted > 0].min()) > before_max  # no id shared with the patch's own


def test_cutblur_inside_changes_only_the_box(img2d):
    patch = torch.from_numpy(img2d[:64, :64].astype(np.float32))[None]
    box = (slice(8, 40), slice(16, 48))
    out = regions.cutblur(patch, box, 4, inside=True)
    outside = torch.ones(64, 64, dtype=torch.bool)
    outside[box] = False
    assert torch.equal(out[0][outside], patch[0][outside])
    inner = out[0][box]
    # blocks of 4x4 equal values: the resolution is a quarter
    assert torch.equal(inner[0::4, 0::4], inner[3::4, 3::4])
    out = regions.cutblur(patch, box, 4, inside=False)
    assert torch.equal(out[0][box], patch[0][box])
    assert not torch.equal(out[0][outside], patch[0][outside])


def test_cutnoise_touches_only_its_box():
    patch = torch.ones(1, 3, 20, 20)
    box = (slice(0, 2), slice(5, 10), slice(5, 10))
    regions.cutnoise(patch, box, 0.1, torch.Generator().manual_seed(0))
    changed = patch[0] != 1
    assert changed[box].float().mean() > 0.9 and int(changed.sum()) == int(changed[box].sum())


def test_the_grid_mask_keeps_the_stripes_share():
    keep = regions.grid_mask((200, 200), 40, 0.6, 0.0, (0, 0), torch.device("cpu"))
    # stripes of 24 every 40 along both axes: 1 - (16/40)^2 of the plane
    assert float(keep.float().mean()) == pytest.approx(1 - 0.4**2, abs=0.01)
    turned = regions.grid_mask((200, 200), 40, 0.6, 30.0, (3, 7), torch.device("cpu"))
    assert float(turned.float().mean()) == pytest.approx(1 - 0.4**2, abs=0.03)


def test_missing_sections_fill_a_band_with_the_section_mean():
    torch.manual_seed(0)
    patch = torch.rand(1, 6, 32, 32)
    original = patch.clone()
    regions.missing_sections(patch[0], 1.0, (2, 2), Dice(1))
    changed = [int((patch[0, z] != original[0, z]).any()) for z in range(6)]
    assert changed == [1, 0, 0, 1, 0, 0]  # a hit section's next two are spared
    band = patch[0, 0] != original[0, 0]
    assert torch.allclose(patch[0, 0][band], original[0, 0].mean().expand(int(band.sum())))
    # a band about 5 pixels wide across 32: between 3 and 40 percent of the slice
    assert 0.03 < float(band.float().mean()) < 0.4
