import numpy as np
import pytest
from skimage.draw import polygon as draw_polygon
from stardist.geometry import polygons_to_label, polyhedron_to_label
from stardist.matching import matching
from stardist.nms import non_maximum_suppression, non_maximum_suppression_3d
from stardist.rays3d import Rays_GoldenSpiral

from stages.channels import encode_channels
from stages.channels.rays import make_rays
from stages.decode.stardist import star_nms


def _noisy_prediction(labels, nrays, seed=0):
    """Ground-truth Db and R with noise, so that no two candidates tie (ties are ordered
    arbitrarily)."""
    rng = np.random.default_rng(seed)
    channels = encode_channels(labels, ["Db", "R"], {"R": {"nrays": nrays}})
    inside = labels > 0
    probability = (0.9 * channels[0] + rng.uniform(0, 0.05, labels.shape) * inside).astype(
        np.float32
    )
    rays = np.maximum(channels[1:] + rng.normal(0, 0.5, channels[1:].shape) * inside, 0.01).astype(
        np.float32
    )
    return probability, rays


def test_2d_nms_keeps_what_stardist_keeps(mask2d):
    probability, rays = _noisy_prediction(mask2d, 32)
    ours = star_nms(
        probability, rays, make_rays(32, 2), prob_thresh=0.4, nms_thresh=0.3, overlap="union"
    )
    points, scores, distances = non_maximum_suppression(
        np.moveaxis(rays, 0, -1), probability, prob_thresh=0.4, nms_thresh=0.3, b=0
    )
    assert {tuple(p) for p in ours.points} == {tuple(p) for p in points}
    theirs = polygons_to_label(distances, points, mask2d.shape, prob=scores)
    assert (
        (ours.labels > 0) != (theirs > 0)
    ).sum() < 0.001 * mask2d.size  # rasterised alike up to boundary ties


def test_3d_nms_keeps_what_stardist_keeps_and_paints_the_same(mask3d):
    probability, rays = _noisy_prediction(mask3d, 96)
    # a higher probability threshold than the default keeps stardist's (slow) 3D NMS short
    ours = star_nms(
        probability, rays, make_rays(96, 3), prob_thresh=0.6, nms_thresh=0.3, overlap="smaller"
    )
    stardist_rays = Rays_GoldenSpiral(96)
    points, scores, distances = non_maximum_suppression_3d(
        np.moveaxis(rays, 0, -1), probability, stardist_rays, prob_thresh=0.6, nms_thresh=0.3, b=0
    )
    assert {tuple(p) for p in ours.points} == {tuple(p) for p in points}
    theirs = polyhedron_to_label(
        distances, points, stardist_rays, mask3d.shape, prob=scores, verbose=False
    )
    assert (
        (ours.labels > 0) != (theirs > 0)
    ).sum() <= 1e-4 * mask3d.size  # the same voxels up to float ties on faces


@pytest.mark.parametrize("overlap", ["union", "smaller"])
def test_round_trip_on_real_2d_masks(mask2d, overlap):
    channels = encode_channels(mask2d, ["Db", "R"])
    result = star_nms(channels[0], channels[1:], make_rays(32, 2), overlap=overlap)
    assert result.labels.dtype == np.uint32
    # star-convex polygons of 32 rays: every nucleus found, shapes close but not exact
    assert matching(mask2d, result.labels, 0.5).f1 >= 0.99
    assert matching(mask2d, result.labels, 0.9).f1 >= 0.95


def test_round_trip_on_real_3d_masks_with_anisotropy(mask3d):
    channels = encode_channels(mask3d, ["Db", "R"], {"R": {"anisotropy": [2, 1, 1]}})
    result = star_nms(channels[0], channels[1:], make_rays(96, 3, (2, 1, 1)))
    assert matching(mask3d, result.labels, 0.5).f1 == 1.0
    assert matching(mask3d, result.labels, 0.75).f1 >= 0.95


def test_higher_scores_win_and_nothing_below_the_threshold():
    labels = np.zeros((20, 20), np.uint8)
    labels[2:9, 2:9] = 1
    labels[10:18, 10:18] = 2
    channels = encode_channels(labels, ["Db", "R"], {"R": {"nrays": 16}})
    result = star_nms(channels[0], channels[1:], make_rays(16, 2), prob_thresh=0.5, nms_thresh=0.3)
    assert result.labels.max() == 2 and matching(labels, result.labels, 0.7).f1 == 1.0
    assert (
        star_nms(channels[0] * 0.1, channels[1:], make_rays(16, 2), prob_thresh=0.5).labels.max()
        == 0
    )
    with pytest.raises(ValueError, match="overlap must be one of"):
        star_nms(channels[0], channels[1:], make_rays(16, 2), overlap="max")
    with pytest.raises(ValueError, match="do not fit"):
        star_nms(channels[0], channels[1:], make_rays(32, 2))


def _star_polygons(rng, count, nrays, spiky):
    """Ray lengths of random star polygons; ``spiky`` ones alternate long and short rays (many runs
    per row)."""
    if spiky:
        return np.where(
            np.arange(nrays) % 2,
            rng.uniform(1, 5, (count, nrays)),
            rng.uniform(10, 30, (count, nrays)),
        )
    return rng.uniform(1, 25, (count, nrays))


@pytest.mark.parametrize("spiky", [False, True])
def test_polygons_are_painted_as_skimage_draws_them(spiky):
    rng = np.random.default_rng(3)
    rays = make_rays(32, 2)
    shape = (70, 80)
    for lengths in _star_polygons(rng, 20, 32, spiky).astype(np.float32):
        point = rng.integers(0, 70, 2)
        probability = np.zeros(shape, np.float32)
        probability[tuple(point)] = 1
        distances = np.broadcast_to(lengths[:, None, None], (32,) + shape)
        painted = star_nms(probability, distances, rays, prob_thresh=0.5).labels > 0
        expected = np.zeros(shape, bool)
        expected[
            draw_polygon(
                point[0] + lengths * rays.directions[:, 0],
                point[1] + lengths * rays.directions[:, 1],
                shape,
            )
        ] = True
        np.testing.assert_array_equal(painted, expected)


@pytest.mark.parametrize("ndim", [2, 3])
def test_shapes_rasterised_in_blocks_equal_one_pass(ndim):
    """Threads share the candidates in blocks; blocks of spiky shapes run out of room and the pass
    starts again serially."""
    from stages.decode.stardist import _boxes, _candidate_runs, face_table

    rng = np.random.default_rng(4)
    nrays = 32 if ndim == 2 else 48
    rays = make_rays(nrays, ndim)
    shape = np.array((90, 100) if ndim == 2 else (30, 40, 40))
    points = rng.integers(0, shape, (300, ndim)).astype(np.int64)
    for spiky in (False, True):
        lengths = np.ascontiguousarray(
            _star_polygons(rng, len(points), nrays, spiky).astype(np.float32)
            / (1 if ndim == 2 else 3)
        )
        lows, highs = _boxes(points, lengths, rays.directions, shape)
        radius = (
            np.full(ndim, int(np.ceil(lengths.max())) + 1, np.int64)
            if ndim == 3
            else np.zeros(2, np.int64)
        )
        table = face_table(rays, radius) if ndim == 3 else np.zeros(1, np.int32)
        extents = highs - lows
        row_base = np.concatenate(
            [[0], np.cumsum(extents[:, 0] * (extents[:, 1] if ndim == 3 else 1))]
        )
        results = []
        for blocks in (1, 16):
            row_ptr = np.zeros(row_base[-1] + 1, np.int32)
            runs, areas = _candidate_runs(
                points,
                lengths,
                rays.directions,
                rays.faces,
                lows,
                highs,
                table,
                2 * radius + 1,
                radius,
                row_base,
                row_ptr,
                blocks,
            )
            results.append((row_ptr, runs, areas))
        for a, b in zip(*results):
            np.testing.assert_array_equal(a, b)
        row_ptr, runs, areas = results[0]
        assert areas.sum() == (runs[:, 1] - runs[:, 0]).sum() > 0 and row_ptr[-1] == len(runs)
        if spiky and ndim == 2:
            assert (
                len(runs) > 1.25 * row_base[-1]
            )  # more runs than the blocks have room for: the serial pass ran


def test_non_finite_rays_are_refused():
    probability = np.zeros((10, 10), np.float32)
    probability[5, 5] = 1
    distances = np.full((8, 10, 10), 3.0, np.float32)
    distances[2, 5, 5] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        star_nms(probability, distances, make_rays(8, 2), prob_thresh=0.5)


def test_big_endian_predictions_decode_as_native_ones(mask2d):
    probability, rays = _noisy_prediction(mask2d[:128, :128], 32)
    expected = star_nms(probability, rays, make_rays(32, 2)).labels
    np.testing.assert_array_equal(
        star_nms(probability.astype(">f4"), rays.astype(">f4"), make_rays(32, 2)).labels, expected
    )
