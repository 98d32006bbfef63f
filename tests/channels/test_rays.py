import numpy as np
import pytest
from stardist.geometry import star_dist
from stardist.rays3d import Rays_GoldenSpiral

from stages.channels import ENCODERS, encode_channels
from stages.channels.rays import encode_radial_distances, make_rays


def test_2d_rays_equal_stardists_star_dist(mask2d):
    ours = encode_radial_distances(mask2d, nrays=32)
    np.testing.assert_allclose(np.moveaxis(ours, 0, -1), star_dist(mask2d, 32), atol=1e-3)


@pytest.mark.parametrize(
    "nrays, anisotropy", [(32, None), (12, None), (7, (1.0, 2.0)), (20, None), (6, (2.0, 1.0, 1.0))]
)
def test_the_table_march_equals_stardists_float_march_to_the_bit(
    mask2d, mask3d, rng, nrays, anisotropy
):
    from stages.channels._star_kernels import _float_march

    # 12 rays in 2D step on half-voxel ties (sin 30 degrees), which the tables leave to the float
    # march
    labels = mask2d if nrays in (32, 12, 7) else mask3d
    ours = encode_radial_distances(labels, nrays=nrays, anisotropy=anisotropy)
    rays = make_rays(nrays, labels.ndim, anisotropy).directions
    volume = labels.astype(np.uint32)[np.newaxis] if labels.ndim == 2 else labels.astype(np.uint32)
    directions = np.concatenate([np.zeros((nrays, 1)), rays], axis=1) if labels.ndim == 2 else rays
    foreground = np.argwhere(volume > 0)
    for h, i, j in foreground[rng.choice(len(foreground), 300, replace=False)]:
        for k in range(nrays):
            expected = np.float32(_float_march(volume, h, i, j, *directions[k]))
            assert ours[(k, h, i, j) if labels.ndim == 3 else (k, i, j)] == expected


@pytest.mark.parametrize("anisotropy", [None, (2.0, 1.0, 1.0)])
def test_3d_rays_are_stardists_golden_spiral(anisotropy):
    np.testing.assert_allclose(
        make_rays(96, 3, anisotropy).directions,
        Rays_GoldenSpiral(96, anisotropy=anisotropy).vertices,
        atol=1e-6,
    )


def test_ray_lengths_of_a_square_and_the_background():
    labels = np.zeros((9, 9), np.uint16)
    labels[2:7, 2:7] = 3
    rays = encode_radial_distances(
        labels, nrays=4
    )  # angles 0, 90, 180, 270 degrees: +x, +y, -x, -y
    # from the centre (4, 4) the boundary lies 2.5 pixels away along each axis
    np.testing.assert_allclose(rays[:, 4, 4], [2.5, 2.5, 2.5, 2.5])
    np.testing.assert_allclose(rays[:, 2, 2], [4.5, 4.5, 0.5, 0.5])
    assert not rays[:, labels == 0].any()


def test_3d_with_default_rays(mask3d):
    out = encode_channels(mask3d, ["R"])
    assert out.shape == (96,) + mask3d.shape and out.dtype == np.float32
    assert (out[:, mask3d > 0] > 0).all() and not out[:, mask3d == 0].any()


@pytest.mark.parametrize(
    "options, message",
    [
        ({"nrays": 2}, "'nrays' must be an integer >= 3"),
        ({"norm": True}, "'norm' must be false"),
        ({"anisotropy": [1, 0]}, "'anisotropy' must hold 2 positive numbers"),
    ],
)
def test_bad_ray_options(options, message):
    with pytest.raises(ValueError, match=message):
        ENCODERS["R"].resolve_options(options, 2)


def _float_march_everywhere(labels, rays):
    from stages.channels._star_kernels import _float_march

    # ids in order from 1 (the march only compares them; the image has background)
    volume = (
        np.unique(labels, return_inverse=True)[1]
        .reshape((-1,) + labels.shape[-2:])
        .astype(np.uint32)
    )
    directions = (
        np.concatenate([np.zeros((len(rays), 1)), rays], axis=1) if labels.ndim == 2 else rays
    )
    expected = np.zeros((len(rays),) + volume.shape, np.float32)
    for h, i, j in np.argwhere(volume > 0):
        for k in range(len(rays)):
            expected[k, h, i, j] = _float_march(volume, h, i, j, *directions[k])
    return expected.reshape((len(rays),) + labels.shape)


@pytest.mark.parametrize("ndim", [2, 3])
def test_wide_runs_long_rays_and_sparse_ids_equal_the_float_march(ndim):
    # rows wider than one 64-bit word, rays over 31 steps (the counter spills into the
    # wide counts), a hole, objects cut by the image border, and ids far above the voxel count
    if ndim == 2:
        y, x = np.mgrid[:90, :160]
        labels = np.zeros((90, 160), np.uint64)
        labels[((y - 45) / 40) ** 2 + ((x - 70) / 75) ** 2 < 1] = 7
        labels[((y - 45) / 8) ** 2 + ((x - 60) / 20) ** 2 < 1] = 0
        labels[:12, 100:] = 2**40
        labels[80:, :30] = 3
        nrays, anisotropy = 16, None
    else:
        z, y, x = np.mgrid[:9, :40, :90]
        labels = np.zeros((9, 40, 90), np.uint64)
        labels[((z - 4) / 5) ** 2 + ((y - 20) / 17) ** 2 + ((x - 45) / 44) ** 2 < 1] = 2**40
        labels[:, :5, :10] = 5
        nrays, anisotropy = 14, (2.0, 1.0, 1.0)
    ours = encode_radial_distances(labels, nrays=nrays, anisotropy=anisotropy)
    expected = _float_march_everywhere(labels, make_rays(nrays, ndim, anisotropy).directions)
    assert ours.max() > 31 and (np.diff(labels, axis=-1) == 0).sum(axis=-1).max() > 64
    np.testing.assert_array_equal(ours, expected)


def test_rays_a_few_at_a_time_through_a_small_buffer(mask2d, monkeypatch):
    from stages.channels import rays

    whole = encode_radial_distances(
        mask2d, nrays=12
    )  # 12 rays: 8 meet ties and are marched in floats
    monkeypatch.setattr(rays, "DENSE_VALUES", 5 * int((mask2d > 0).sum()))  # five rays per pass
    np.testing.assert_array_equal(encode_radial_distances(mask2d, nrays=12), whole)
