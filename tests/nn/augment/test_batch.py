import numpy as np
import pytest
import torch

from stages.nn.augment.batch import augment_batch, augment_patches
from stages.nn.augment.settings import CHANGE_LABELS, FLIPS_AND_TURNS, NAMES, AugmentSettings
from stages.nn.data import PatchBatch
from stages.nn.layout import channel_layout

ON_BATCHES = [name for name in NAMES if name not in FLIPS_AND_TURNS]


def _batch(mask, shape, count=4):
    depth = (slice(0, shape[0]),) if len(shape) == 3 else ()
    crops = [mask[(*depth, *(slice(k * 2, k * 2 + s) for s in shape[-2:]))] for k in range(count)]
    labels = np.stack(crops).astype(np.int64)
    ramp = np.linspace(0, 0.5, labels[0].size, dtype=np.float32).reshape(labels[0].shape)
    image = ((labels > 0) + ramp).astype(np.float32)[:, None]
    return torch.from_numpy(image), torch.from_numpy(labels)


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("name", ON_BATCHES)
def test_each_augmentation_changes_the_image_keeps_ids_and_says_when_labels_moved(
    name, ndim, mask2d, mask3d
):
    image, labels = _batch(mask2d, (48, 48)) if ndim == 2 else _batch(mask3d, (12, 40, 40))
    if name in ("grayscale", "channel_shuffle"):
        image = torch.cat([image, 2 * image, 3 * image], dim=1)
    settings = AugmentSettings(probabilities={name: 1.0}, cutout_labels=True)
    out = augment_batch(image, labels, None, settings, seed=5)
    assert out.image.shape == image.shape and torch.isfinite(out.image).all()
    assert not torch.equal(out.image, image), name
    if name in CHANGE_LABELS or name == "cutout":
        assert out.relabelled == [0, 1, 2, 3]
    else:
        assert out.relabelled == [] and torch.equal(out.labels, labels)
    if name != "cutmix":  # cutmix raises the donor's ids above the patch's
        for n in range(4):
            assert set(out.labels[n].unique().tolist()) <= set(labels[n].unique().tolist())


def test_the_same_seed_gives_the_same_batch_and_another_seed_another(mask2d):
    image, labels = _batch(mask2d, (48, 48))
    settings = AugmentSettings(probabilities={name: 0.5 for name in ON_BATCHES})
    first = augment_batch(image, labels, None, settings, seed=11)
    again = augment_batch(image, labels, None, settings, seed=11)
    other = augment_batch(image, labels, None, settings, seed=12)
    assert torch.equal(first.image, again.image) and torch.equal(first.labels, again.labels)
    assert not torch.equal(first.image, other.image)


def test_probability_zero_and_one(mask2d):
    image, labels = _batch(mask2d, (48, 48), count=32)
    never = augment_batch(image, labels, None, AugmentSettings(probabilities={"elastic": 0.0}), 1)
    assert torch.equal(never.image, image) and never.relabelled == []
    half = augment_batch(image, labels, None, AugmentSettings(probabilities={"elastic": 0.5}), 1)
    assert 8 <= len(half.relabelled) <= 24


def test_label_moving_augmentations_need_labels():
    with pytest.raises(ValueError, match="need the patches' labels"):
        augment_batch(torch.zeros(1, 1, 8, 8), None, None, AugmentSettings({"zoom": 1.0}), 0)


def test_misalignment_in_3d_leaves_the_first_section_and_moves_later_ones(mask3d):
    image, labels = _batch(mask3d, (12, 40, 40), count=8)
    settings = AugmentSettings(probabilities={"misalignment": 1.0})
    out = augment_batch(image, labels, None, settings, seed=3)
    assert torch.equal(out.image[:, :, 0], image[:, :, 0])
    assert torch.equal(out.labels[:, 0], labels[:, 0])
    moved_sections = (out.image != image).flatten(2).any(-1)  # (B, Z)
    assert int(moved_sections.any(1).sum()) >= 7  # a tiny turn may move nothing visible
    assert out.relabelled == list(range(8))


def test_class_ids_move_with_the_instance_ids(mask2d):
    image, labels = _batch(mask2d, (48, 48))
    classes = torch.where(labels > 0, labels % 3 + 1, 0)
    settings = AugmentSettings(probabilities={"random_rot": 1.0, "elastic": 1.0, "cutmix": 1.0})
    out = augment_batch(image, labels, classes, settings, seed=2)
    assert torch.equal(out.classes > 0, out.labels > 0)


@pytest.mark.parametrize("codes", [["F", "C", "Db"], ["F", "P", "H", "V"], ["R"]])
def test_moved_patches_get_targets_encoded_from_their_moved_labels(codes, mask2d):
    layout = channel_layout(codes, {}, 2)
    labels = np.stack([mask2d[k * 40 : k * 40 + 48, 100:148] for k in range(3)]).astype(np.int64)
    targets = np.stack([layout.training_targets(x) for x in labels])
    batch = PatchBatch(
        images=(labels > 0).astype(np.float32)[:, None],
        targets=targets,
        foreground=labels > 0,
        labels=labels,
    )
    settings = AugmentSettings(probabilities={"random_rot": 1.0, "brightness": 1.0})
    image, new_targets, foreground = augment_patches(
        batch, settings, layout.training_targets, 4, torch.device("cpu")
    )
    moved = augment_batch(
        torch.from_numpy(batch.images), torch.from_numpy(labels), None, settings, 4
    ).labels.numpy()
    for n in range(3):
        assert not np.array_equal(moved[n], labels[n])
        np.testing.assert_allclose(new_targets[n].numpy(), layout.training_targets(moved[n]))
        assert np.array_equal(foreground[n].numpy(), moved[n] > 0)
    assert new_targets.dtype == torch.float32 and image.shape == (3, 1, 48, 48)


def test_settings_refuse_unknown_names_and_modes():
    with pytest.raises(ValueError, match="unknown augmentation"):
        AugmentSettings(probabilities={"twirl": 1.0})
    with pytest.raises(ValueError, match="padding mode"):
        AugmentSettings(affine_mode="mirror")
