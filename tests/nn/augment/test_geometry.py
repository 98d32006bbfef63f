import numpy as np
import pytest
import torch

from stages.nn.augment.geometry import (
    affine_coordinates,
    affine_matrix,
    elastic_displacement,
    identity_coordinates,
    warp,
)


def _warp(image, labels, matrix, mode="constant"):
    shape = image.shape[2:]
    coords = affine_coordinates(matrix[None], shape, image.device)
    return warp(image, labels, None, coords, mode)


@pytest.mark.parametrize("shape", [(24, 24), (6, 24, 24)])
def test_the_identity_map_changes_nothing(shape, rng):
    image = torch.from_numpy(rng.random((1, 2, *shape), dtype=np.float32))
    labels = torch.from_numpy(rng.integers(0, 5, (1, *shape)))
    out, moved, _ = _warp(image, labels, affine_matrix(shape), "reflect")
    torch.testing.assert_close(out, image, atol=1e-5, rtol=0)
    assert torch.equal(moved, labels)


@pytest.mark.parametrize("shape", [(32, 32), (4, 32, 32)])
def test_a_quarter_turn_equals_numpy_rot90_for_image_and_labels(shape, mask2d):
    labels2d = mask2d[100:132, 100:132].astype(np.int64)
    labels = np.broadcast_to(labels2d, shape).copy()
    image = (labels * 0.01 + np.arange(labels.size).reshape(shape) * 1e-4).astype(np.float32)
    out, moved, _ = _warp(
        torch.from_numpy(image)[None, None],
        torch.from_numpy(labels)[None],
        affine_matrix(shape, angle=90.0),
    )
    turned = [np.rot90(image, k, axes=(-2, -1)) for k in (1, 3)]
    # the sense of the turn is a convention: one of the two quarter turns
    match = [np.allclose(out[0, 0].numpy(), t, atol=1e-4) for t in turned]
    assert any(match)
    k = 1 if match[0] else 3
    assert np.array_equal(moved[0].numpy(), np.rot90(labels, k, axes=(-2, -1)))


def test_an_integer_shift_moves_labels_exactly_and_fills_zeros(mask2d):
    labels = mask2d[:64, :64].astype(np.int64)
    out, moved, _ = _warp(
        torch.from_numpy(labels.astype(np.float32))[None, None],
        torch.from_numpy(labels)[None],
        affine_matrix((64, 64), shift=(5, -3)),
    )
    expected = np.zeros_like(labels)
    expected[5:, :61] = labels[:59, 3:]
    assert np.array_equal(moved[0].numpy(), expected)
    assert np.allclose(out[0, 0].numpy(), expected)


def test_rotating_real_nuclei_keeps_ids_whole_and_areas(mask2d):
    """Nearest-neighbour sampling: no new ids, and each object keeps about its area."""
    labels = mask2d[128:384, 128:384].astype(np.int64)
    image = torch.from_numpy((labels > 0).astype(np.float32))[None, None]
    _, moved, _ = _warp(image, torch.from_numpy(labels)[None], affine_matrix((256, 256), 30.0))
    moved = moved[0].numpy()
    assert set(np.unique(moved)) <= set(np.unique(labels))
    before = np.bincount(labels.ravel(), minlength=labels.max() + 1)
    after = np.bincount(moved.ravel(), minlength=labels.max() + 1)
    # objects well inside the patch stay whole: their area changes by at most a few percent
    ids = np.flatnonzero(before > 50)
    inner = [i for i in ids if _inside(labels == i, 40)]
    assert len(inner) > 10
    assert np.allclose(after[inner], before[inner], rtol=0.08)


def _inside(mask, margin):
    ys, xs = np.nonzero(mask)
    centre = np.array(mask.shape) / 2
    return np.hypot(ys.mean() - centre[0], xs.mean() - centre[1]) < mask.shape[0] / 2 - margin


def test_zooming_in_grows_objects_by_the_square_of_the_factor(mask2d):
    labels = mask2d[128:384, 128:384].astype(np.int64)
    _, moved, _ = _warp(
        torch.zeros(1, 1, 256, 256),
        torch.from_numpy(labels)[None],
        affine_matrix((256, 256), zoom=1.5),
    )
    centre = labels[118:138, 118:138]
    ids = [i for i in np.unique(centre) if i]
    assert ids
    before = np.bincount(labels.ravel())
    after = np.bincount(moved[0].numpy().ravel(), minlength=len(before))
    whole = [i for i in ids if _inside(labels == i, 90)]
    assert whole
    assert np.allclose(after[whole] / before[whole], 2.25, rtol=0.1)


@pytest.mark.parametrize("mode", ["constant", "reflect", "wrap", "nearest"])
def test_padding_modes_fill_what_the_map_uncovers(mode):
    image = torch.arange(8, dtype=torch.float32).repeat(8, 1)[None, None]  # x in every row
    out, _, _ = _warp(image, None, affine_matrix((8, 8), shift=(0, 2)), mode)
    row = out[0, 0, 0].tolist()
    assert row[2:] == pytest.approx(list(range(6)))
    expected = {"constant": [0, 0], "reflect": [1, 0], "wrap": [6, 7], "nearest": [0, 0]}
    assert row[:2] == pytest.approx(expected[mode])


def test_elastic_fields_are_smooth_planar_and_as_strong_as_alpha():
    generator = torch.Generator().manual_seed(0)
    field = elastic_displacement(2, (3, 64, 64), [0.0, 40.0], 4.0, generator, torch.device("cpu"))
    assert field.shape == (2, 3, 64, 64, 3)
    assert torch.count_nonzero(field[0]) == 0
    assert torch.count_nonzero(field[1, ..., 0]) == 0  # nothing moves along Z
    assert torch.equal(field[1, 0], field[1, 2])  # the same for every slice
    strength = field[1, ..., 1:].abs()
    assert 0.2 < float(strength.max()) < 40.0
    # smooth: neighbours differ far less than the field itself
    assert float((field[1, :, 1:] - field[1, :, :-1]).abs().mean()) < 0.2 * float(strength.mean())


def test_identity_coordinates_are_pixel_indices():
    coords = identity_coordinates((2, 3), torch.device("cpu"))
    assert coords.shape == (1, 2, 3, 2)
    assert coords[0, 1, 2].tolist() == [1.0, 2.0]
