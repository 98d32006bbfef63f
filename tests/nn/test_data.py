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


def test_the_probability_map_shares_centres_between_inner_foreground_and_background():
    """BiaPy's map: objects touching the border (of each Z plane) count as background; the
    foreground shares W_FOREGROUND and the background W_BACKGROUND, each evenly."""
    from stages.nn.data import center_probabilities

    labels = np.zeros((8, 8), np.uint16)
    labels[0:2, 0:2] = 1  # touches the border: background for the map
    labels[3:5, 3:6] = 2  # 6 inner pixels
    chances = center_probabilities(labels > 0, (0.9, 0.1))
    assert chances.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(chances[3:5, 3:6], 0.9 / 6)
    np.testing.assert_allclose(chances[0, 0], 0.1 / 58)
    volume = np.stack([labels, np.roll(labels, 2, axis=0)])  # plane 1: object 1 inside now
    per_plane = center_probabilities(volume > 0, (1.0, 0.0))
    assert per_plane[1, 2:4, 0:2].sum() == 0  # touches the plane's border
    assert per_plane[1, 5:7, 3:6].sum() == pytest.approx(0.5)
    # no foreground, and no share for the background: every pixel alike
    assert center_probabilities(np.zeros((4, 4), bool), (1.0, 0.0))[0, 0] == 1 / 16


def test_a_centre_near_the_border_moves_its_patch_inside_the_image():
    from stages.nn.data import start_probabilities

    centers = np.zeros((10, 12))
    centers[5, 6], centers[0, 11] = 0.75, 0.25
    starts = start_probabilities(centers, (4, 4)).reshape(7, 9)
    assert starts[3, 4] == 0.75  # centre - patch // 2
    assert starts[0, 8] == 0.25  # clamped to the last start
    assert starts.sum() == pytest.approx(1.0)


def test_patches_are_centred_on_objects_as_the_probability_map_weighs_them(mask2d, rng):
    """On the real nuclei: all centres on inner foreground with (1, 0), on background with
    (0, 1), and about the image's foreground share without a map."""
    shape = mask2d.shape
    sample = Sample(
        image=np.zeros((1,) + shape, np.float32),
        targets=np.zeros((1,) + shape, np.float32),
        foreground=mask2d > 0,
    )
    patch = (32, 32)

    def centred_on_foreground(weights) -> float:
        sampler = PatchSampler([sample], patch, [[]], np.random.default_rng(1), None, weights)
        hits = []
        for _ in range(400):
            _, box = sampler.draw()
            hits.append(sample.foreground[tuple(b.start + p // 2 for b, p in zip(box, patch))])
        return float(np.mean(hits))

    assert centred_on_foreground((1.0, 0.0)) > 0.97  # a few clamped at the border
    assert centred_on_foreground((0.0, 1.0)) < 0.03
    uniform = centred_on_foreground(None)
    assert abs(uniform - sample.foreground.mean()) < 0.08
