import numpy as np
import pytest

from stages.channels import encode_channels
from stages.nn.data import (
    PatchSampler,
    Sample,
    cross_validation_fold,
    flip_and_rotate,
    invert_flip_and_rotate,
    split_validation,
    tta_transforms,
)


@pytest.mark.parametrize(
    "flips, k", [((-1,), 0), ((-2,), 0), ((), 1), ((), 2), ((), 3), ((-1,), 1), ((-2, -1), 3)]
)
def test_transforming_the_encoding_equals_encoding_the_transformed_labels(mask2d, flips, k):
    codes = ["F", "Db", "H", "V"]
    labels = mask2d[:200, :200]
    encoded = encode_channels(labels, codes)
    moved_labels = flip_and_rotate(labels[np.newaxis], flips, k)[0]
    np.testing.assert_allclose(
        flip_and_rotate(encoded, flips, k, codes), encode_channels(moved_labels, codes), atol=1e-5
    )
    np.testing.assert_allclose(
        invert_flip_and_rotate(flip_and_rotate(encoded, flips, k, codes), flips, k, codes),
        encoded,
        atol=1e-6,
    )


def test_z_flip_turns_the_z_offset(mask3d):
    codes = ["Z", "V", "H"]
    encoded = encode_channels(mask3d, codes)
    moved = flip_and_rotate(mask3d[np.newaxis], (-3,), 0)[0]
    np.testing.assert_allclose(
        flip_and_rotate(encoded, (-3,), 0, codes), encode_channels(moved, codes), atol=1e-5
    )


def test_tta_transform_counts():
    assert len(tta_transforms(2, True, ["F", "C"])) == 8
    assert len(tta_transforms(3, True, ["F", "C"])) == 16
    assert len(set(tta_transforms(2, False, ["F", "C"]))) == 4


def test_training_patches_never_overlap_validation_cells(rng):
    shape = (64, 64)
    sample = Sample(
        image=np.zeros((1,) + shape, np.float32),
        targets=np.zeros((1,) + shape, np.float32),
        foreground=np.zeros(shape, bool),
    )
    held = split_validation([shape], (16, 16), 0.25, rng)
    assert len(held[0]) == 4
    sampler = PatchSampler([sample], (16, 16), held, rng)
    blocked = np.zeros(shape, bool)
    for start in held[0]:
        blocked[start[0] : start[0] + 16, start[1] : start[1] + 16] = True
    for _ in range(300):
        _, box = sampler.draw()
        assert not blocked[box].any()


def test_cross_validation_folds_partition_the_cells(rng):
    """Five folds of the 4x4 + 2x4 cells of two images: disjoint, together every cell, sizes
    differing by at most one; the same seed gives the same folds."""
    shapes, patch = [(64, 64), (32, 64)], (16, 16)
    folds = [
        cross_validation_fold(shapes, patch, 5, k, np.random.default_rng(7)) for k in range(1, 6)
    ]
    cells = [(i, c) for fold in folds for i, image in enumerate(fold) for c in image]
    assert len(cells) == len(set(cells)) == 16 + 8
    assert sorted(sum(len(image) for image in fold) for fold in folds) == [4, 5, 5, 5, 5]
    again = cross_validation_fold(shapes, patch, 5, 3, np.random.default_rng(7))
    assert again == folds[2]
    with pytest.raises(ValueError, match="fold 6 of 5"):
        cross_validation_fold(shapes, patch, 5, 6, rng)
    with pytest.raises(ValueError, match="needs at least 30 patch cells"):
        cross_validation_fold(shapes, patch, 30, 1, rng)


def test_validation_needs_two_cells(rng):
    with pytest.raises(ValueError, match="too few to hold out validation"):
        split_validation([(16, 16)], (16, 16), 0.1, rng)


def test_codes_encoded_again_are_encoded_from_every_augmented_patch_turned_or_not(mask2d):
    """A patch left as it is gets R encoded from its own labels, as a turned one does (not the
    whole image's rays, which run past the patch border)."""
    from stages.nn.augment.settings import AugmentSettings
    from stages.nn.layout import channel_layout

    layout = channel_layout(["F", "R"], {}, 2)
    labels = mask2d[:128, :128].astype(np.int64)
    sample = Sample(
        image=np.zeros((1, 128, 128), np.float32),
        targets=layout.training_targets(labels),
        foreground=labels > 0,
        labels=labels,
    )
    sampler = PatchSampler([sample], (48, 48), [[]], np.random.default_rng(0))
    never_turned = AugmentSettings(probabilities={})
    batch = sampler.batch(6, never_turned, layout.planes, layout.training_targets)
    for n in range(6):
        np.testing.assert_allclose(batch.targets[n], layout.training_targets(batch.labels[n]))
    # the whole image's rays differ from a patch's for objects cut by its border
    assert not np.allclose(sample.targets[:, :48, :48], layout.training_targets(labels[:48, :48]))
