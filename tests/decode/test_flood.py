import numba
import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.segmentation import watershed

from stages.channels import encode_channels
from stages.decode._flood_kernels import GROWTH, LABELLED
from stages.decode.flood import flag_buffer, flood_from_markers, flood_from_seeds, quantise
from stages.decode.watershed import label_seeds, watershed_from_channels
from tests.helpers import three_squares


def test_two_basins_split_at_the_ridge():
    surface = np.abs(np.arange(11, dtype=np.float32) - 5)[None].repeat(3, axis=0)
    surface = -surface  # basins at both ends, the ridge at column 5
    markers = np.zeros(surface.shape, np.int32)
    markers[1, 0], markers[1, 10] = 1, 2
    labels = flood_from_markers(surface, markers)
    assert (labels[:, :5] == 1).all() and (labels[:, 6:] == 2).all()
    assert labels.dtype == np.int32


def test_the_mask_bounds_the_flood_and_drops_markers_outside_it():
    surface = np.zeros((6, 6), np.float32)
    mask = np.zeros((6, 6), bool)
    mask[1:5, 1:3] = True
    markers = np.zeros((6, 6), np.int32)
    markers[2, 2], markers[0, 5] = 1, 2
    labels = flood_from_markers(surface, markers, mask)
    np.testing.assert_array_equal(labels > 0, mask)
    assert set(np.unique(labels)) == {0, 1}


def test_agrees_with_skimage_on_real_seeds_up_to_ties(mask2d, mask3d):
    for labels in (mask2d, mask3d):
        result = watershed_from_channels(
            encode_channels(labels, ["F", "C"]),
            ["F", "C"],
            fragment_fraction=0,
            label_unseeded=False,
        )
        rng = np.random.default_rng(0)
        # a surface without ties: the same flood order, the same labels
        surface = rng.random(labels.shape).astype(np.float32)
        ours = flood_from_markers(surface, result.seed_map, result.growth_mask)
        theirs = watershed(surface, result.seed_map, mask=result.growth_mask)
        assert (ours != theirs).mean() < 1e-3
        # the real surface: plateaus, so a few voxels at equal levels may go either way
        ours = flood_from_markers(result.surface, result.seed_map, result.growth_mask)
        theirs = watershed(result.surface, result.seed_map, mask=result.growth_mask)
        assert (ours != theirs).sum() <= 0.002 * result.growth_mask.sum()


def test_flat_and_empty_inputs():
    assert quantise(np.ones((3, 3), np.float32), np.ones((3, 3), bool)).max() == 0
    assert flood_from_markers(np.zeros((4, 4), np.float32), np.zeros((4, 4), np.int64)).max() == 0
    levels = quantise(np.array([[0.0, 0.5, 1.0]], np.float32), np.ones((1, 3), bool))
    np.testing.assert_array_equal(levels, [[0, 32768, 65535]])


def test_foreground_no_seed_reached_gets_new_ids_unless_it_is_a_speck():
    labels = three_squares()
    growth = labels > 0
    growth[28, 28] = True  # a one-pixel speck
    seeds = np.isin(labels, [1, 2]) & (
        ndi.distance_transform_cdt(labels > 0) > 2
    )  # instance 3 has no seed
    surface = np.zeros(labels.shape, np.float32)
    flood = flood_from_seeds(surface, seeds, growth, unseeded_fraction=0.05)
    assert flood.seeded == 2 and flood.median_seeded_size == 100
    np.testing.assert_array_equal(flood.labels[:14], labels[:14])
    assert set(np.unique(flood.labels[16:26, 2:12])) == {3} and flood.labels[28, 28] == 0
    np.testing.assert_array_equal(flood.sizes, [0, 100, 100, 100])
    # kept when specks are welcome, left at 0 when unseeded foreground is not wanted
    assert flood_from_seeds(surface, seeds, growth, unseeded_fraction=0).labels[28, 28] == 4
    assert (
        flood_from_seeds(surface, seeds, growth, unseeded_fraction=None).labels[16:26, 2:12].max()
        == 0
    )


def _unseeded_by_ndimage(
    labels: np.ndarray, foreground: np.ndarray, min_size: float, seed_ids: int
) -> np.ndarray:
    """The plain numpy statement of the unseeded clean-up: what no seed reached, labelled, specks
    dropped.

    New ids follow the ``seed_ids`` seed components (some may have no voxel inside the foreground).
    """
    unseeded = foreground & (labels == 0)
    components, count = ndi.label(unseeded)
    sizes = np.bincount(components.ravel())
    keep = sizes >= max(min_size, 1)
    keep[0] = False
    table = np.zeros(count + 1, dtype=np.int64)
    table[keep] = np.arange(1, int(keep.sum()) + 1) + seed_ids
    out = labels.astype(np.int64, copy=True)
    out[unseeded] = table[components[unseeded]]
    return out


def _count_calls(monkeypatch, module, name: str) -> list:
    calls = []
    function = getattr(module, name)

    def counted(*arguments):
        calls.append(name)
        return function(*arguments)

    monkeypatch.setattr(module, name, counted)
    return calls


@pytest.mark.parametrize("codes", [["F", "C"], ["F", "P"]])
def test_the_fused_passes_equal_labelling_flooding_and_relabelling_one_by_one(
    mask2d, mask3d, rng, codes, monkeypatch
):
    import stages.decode._flood_kernels as kernels

    # F+P seeds are points: most growth is left to flood, so lone-seed components are filled first
    filled = _count_calls(monkeypatch, kernels, "fill_lone_seed_components")
    unseeded_found = []
    for labels in (mask2d, mask3d):
        channels = encode_channels(labels, codes)
        channels += rng.normal(0, 0.2, channels.shape).astype(np.float32)  # stray seeds and holes
        result = watershed_from_channels(channels, codes, fragment_fraction=0)
        for min_seed_size in (0, 4):
            markers = label_seeds(result.seeds, min_seed_size)
            markers = np.unique(markers, return_inverse=True)[1].reshape(
                markers.shape
            )  # ids 1..n as the flood numbers them
            expected = flood_from_markers(result.surface, markers, result.growth_mask)
            sizes = np.bincount(expected.ravel())
            median = np.median(sizes[1:][sizes[1:] > 0])
            expected = _unseeded_by_ndimage(
                expected, result.growth_mask, 0.05 * median, int(markers.max())
            )
            flood = flood_from_seeds(
                result.surface,
                result.seeds,
                result.growth_mask,
                min_seed_size=min_seed_size,
                unseeded_fraction=0.05,
            )
            unseeded_found.append(flood.labels.max() > flood.seeded)
            np.testing.assert_array_equal(flood.labels, expected)
            np.testing.assert_array_equal(
                flood.sizes[1:], np.bincount(expected.ravel(), minlength=flood.sizes.size)[1:]
            )
    assert any(unseeded_found)  # the noise left some foreground that no seed reached
    assert bool(filled) == (codes == ["F", "P"])


def test_filling_lone_seed_components_equals_the_flood_on_random_images(rng, monkeypatch):
    import stages.decode._flood_kernels as kernels

    filled = _count_calls(monkeypatch, kernels, "fill_lone_seed_components")
    for trial in range(60):
        shape = tuple(rng.integers(2, 14, 3)) if trial % 2 else tuple(rng.integers(2, 40, 2))
        growth = ndi.binary_opening(
            rng.random(shape) < 0.7
        )  # components that touch and some that stand alone
        seeds = rng.random(shape) < rng.uniform(0.005, 0.05)  # points, a few per component or none
        # few levels: plateaus, where the order of the flood matters most
        surface = rng.integers(0, 4, shape).astype(np.float32)
        markers = label_seeds(seeds)
        markers = np.unique(markers, return_inverse=True)[1].reshape(markers.shape)
        expected = flood_from_markers(surface, markers, growth)
        sizes = np.bincount(expected.ravel())
        reached = sizes[1:][sizes[1:] > 0]
        median = np.median(reached) if reached.size else 0.0
        expected = _unseeded_by_ndimage(expected, growth, 0.3 * median, int(markers.max()))
        flood = flood_from_seeds(surface, seeds, growth, unseeded_fraction=0.3)
        np.testing.assert_array_equal(flood.labels, expected)
        np.testing.assert_array_equal(
            flood.sizes[1:], np.bincount(expected.ravel(), minlength=flood.sizes.size)[1:]
        )
    assert len(filled) >= 40  # the others had seeds enough to flood as before


@numba.njit(cache=True, nogil=True)
def _label_components_breadth_first(
    flags, member, visited, labels, offsets, queue, next_id, min_size
):
    """The plain statement of label_components_by_runs: breadth first from each component's first
    voxel (flat arrays)."""
    sizes = []
    for start in range(flags.size):
        if flags[start] & (member | visited | LABELLED) != member:
            continue
        flags[start] |= visited | LABELLED
        labels[start] = next_id
        queue[0] = start
        read = 0
        write = 1
        growing = 0
        while read < write:
            index = queue[read]
            read += 1
            growing += flags[index] & GROWTH
            for offset in offsets:
                neighbour = index + offset
                if flags[neighbour] & (member | visited | LABELLED) == member:
                    flags[neighbour] |= visited | LABELLED
                    labels[neighbour] = next_id
                    queue[write] = neighbour
                    write += 1
        if write < min_size:
            for k in range(write):
                labels[queue[k]] = 0
                flags[queue[k]] &= ~LABELLED
        else:
            sizes.append(growing)
            next_id += 1
    out = np.empty(len(sizes), np.int64)
    for k in range(len(sizes)):
        out[k] = sizes[k]
    return next_id, out


def test_labelling_by_runs_equals_the_breadth_first_search(rng):
    from stages.decode._flood_kernels import (
        SEED,
        SEED_VISITED,
        UNSEEDED_VISITED,
        label_components_by_runs,
    )

    for trial in range(120):
        three_d = trial % 2 == 0
        shape = tuple(rng.integers(1, 12, 3)) if three_d else (1, *rng.integers(1, 40, 2))
        pad = 1 if three_d else 0
        flags, words = flag_buffer((shape[0] + 2 * pad, shape[1] + 2, shape[2] + 2))
        inside = (slice(pad, flags.shape[0] - pad), slice(1, -1), slice(1, -1))
        # sparse and dense: the scans skip eight flags at a time where none is a member
        flags[inside] = (rng.random(shape) < rng.uniform(0.05, 0.9)) * GROWTH | (
            rng.random(shape) < rng.uniform(0.02, 0.9)
        ) * SEED
        labels = np.zeros(flags.shape, np.int32)
        taken = (rng.random(flags.shape) < 0.1) & (flags > 0)  # voxels a flood already labelled
        labels[taken], flags[taken] = 99, flags[taken] | LABELLED
        strides = np.array(flags.strides)[0 if three_d else 1 :]
        offsets = tuple(int(s) for s in np.concatenate([strides, -strides]))
        for member, visited in ((SEED, SEED_VISITED), (GROWTH, UNSEEDED_VISITED)):
            min_size = int(rng.integers(0, 6))
            flags_a, labels_a, labels_b = flags.copy(), labels.copy(), labels.copy()
            flags_b, words_b = flag_buffer(flags.shape)
            flags_b[:] = flags
            next_a, sizes_a = _label_components_breadth_first(
                flags_a.ravel(),
                member,
                visited,
                labels_a.ravel(),
                offsets,
                np.empty(flags.size, np.int32),
                5,
                min_size,
            )
            next_b, sizes_b = label_components_by_runs(
                flags_b,
                words_b,
                member,
                visited,
                labels_b,
                np.empty(flags.size, np.int32),
                5,
                min_size,
            )
            assert next_a == next_b
            np.testing.assert_array_equal(sizes_a, sizes_b)
            np.testing.assert_array_equal(labels_a, labels_b)
            np.testing.assert_array_equal(flags_a, flags_b)


def test_a_seed_that_bridges_two_growth_components_fills_both():
    growth = np.zeros((7, 12), bool)
    growth[1:6, 1:5] = growth[1:6, 7:11] = True
    seeds = np.zeros_like(growth)
    seeds[1, 10] = True  # id 1 (first in raster order), in the right square: that one is flooded
    seeds[3, 2:10] = (
        True  # id 2, through the gap outside the growth mask: the left square is its alone
    )
    flood = flood_from_seeds(np.zeros(growth.shape, np.float32), seeds, growth)
    assert (flood.labels[1:6, 1:5] == 2).all() and flood.labels[3, 5:7].max() == 0
    assert set(np.unique(flood.labels[1:6, 7:11])) == {1, 2}
    np.testing.assert_array_equal(
        flood.sizes, [0, np.count_nonzero(flood.labels == 1), np.count_nonzero(flood.labels == 2)]
    )
