import numpy as np
import pytest
from stardist.matching import matching

from stages.channels import channel_planes, encode_channels
from stages.decode.watershed import (
    consecutive_ids,
    infer_watershed_defaults,
    topographic_surface,
    watershed_from_channels,
)
from tests.helpers import touching_squares


@pytest.mark.parametrize(
    "codes, seeds, surface, growth",
    [
        (["F", "C"], ["F", "C"], "F", ["F"]),
        (["F", "Db"], ["F", "Db"], "F", ["F"]),
        (["F", "P"], ["P"], "F", ["F"]),
        (["F", "V", "H"], ["F", "V", "H"], "F", ["F"]),
        (["Db", "V", "H"], ["Db", "V", "H"], "Db", ["Db"]),
        (["F", "C", "Db"], ["F", "C", "Db"], "F", ["F"]),
        (["Db"], ["Db"], "Db", ["Db"]),
        # sets BiaPy rejects get a default too
        (["B", "C"], ["B", "C"], "B", ["B"]),
        (["F", "T"], ["F", "T"], "F", ["F"]),
    ],
)
def test_inferred_defaults_follow_biapy_and_extend_it(codes, seeds, surface, growth):
    assert infer_watershed_defaults(codes) == (seeds, surface, growth)


WATERSHED_SETS = [
    ("F", "C"),
    ("F", "C", "Db"),
    ("F", "P"),
    ("F", "Db"),
    ("F", "Dc"),
    ("F", "T"),
    ("B", "C"),
    ("D", "C"),
    ("F", "Dn"),
    ("F", "C", "Dn"),
    ("Db",),
    ("F", "V", "H"),
    ("Db", "V", "H"),
]
# Sets whose seeds come from thresholds on boundary-like values split one nucleus of mask2d:
# nucleus 10 is two lobes joined by a one-pixel column at the image border, which no
# threshold tells apart from two nuclei touching over one pixel. Sets with one seed per
# instance by construction (P, Dc, T's touching bands) are exact.
EXACT_IN_2D = {("F", "P"), ("F", "Dc"), ("F", "T")}
BRIDGED_NUCLEUS = 10


def _three_d(codes):
    return [c for c in codes if c not in ("V", "H")] + (["Z", "V", "H"] if "H" in codes else [])


def assert_exact_but_for_the_bridged_nucleus(ground_truth, labels, exact):
    """F1@0.5 = 1 when ``exact``; otherwise every nucleus found and one extra, inside nucleus 10."""
    score = matching(ground_truth, labels, 0.5, report_matches=True)
    if exact:
        assert score.f1 == 1.0
        return
    assert (score.fn, score.fp) == (0, 1)
    unmatched = set(range(1, labels.max() + 1)) - {int(j) for _, j in score.matched_pairs}
    (extra,) = unmatched
    assert set(np.unique(ground_truth[labels == extra])) == {BRIDGED_NUCLEUS}


@pytest.mark.parametrize("codes", WATERSHED_SETS)
def test_round_trip_on_real_2d_masks(mask2d, codes):
    codes = list(codes)
    result = watershed_from_channels(encode_channels(mask2d, codes), codes)
    assert_exact_but_for_the_bridged_nucleus(mask2d, result.labels, tuple(codes) in EXACT_IN_2D)


@pytest.mark.parametrize("codes", WATERSHED_SETS)
def test_round_trip_on_real_3d_masks(mask3d, codes):
    codes = _three_d(codes)
    result = watershed_from_channels(encode_channels(mask3d, codes), codes)
    assert matching(mask3d, result.labels, 0.5).f1 == 1.0


@pytest.mark.parametrize(
    "neighborhood_2d, neighborhood_3d",
    [("4-connectivity", "6-connectivity"), ("8-connectivity", "26-connectivity")],
)
def test_affinities_round_trip_on_real_masks(mask2d, mask3d, neighborhood_2d, neighborhood_3d):
    options = {"A": {"neighborhood": neighborhood_2d}}
    result = watershed_from_channels(
        encode_channels(mask2d, ["A"], options), channel_planes(["A"], options, 2)
    )
    assert_exact_but_for_the_bridged_nucleus(mask2d, result.labels, exact=False)
    assert result.settings["seed_channels"] == ["A"] and result.settings["growth_channels"] == ["F"]
    options = {"A": {"neighborhood": neighborhood_3d}}
    result = watershed_from_channels(
        encode_channels(mask3d, ["A"], options), channel_planes(["A"], options, 3)
    )
    assert matching(mask3d, result.labels, 0.5).f1 == 1.0


def test_without_the_clean_ups_stray_seeds_and_unseeded_slivers_are_lost(mask2d, mask3d):
    # what the fragment merge and the unseeded components add (BiaPy has neither)
    codes = ["F", "C"]
    plain = watershed_from_channels(
        encode_channels(mask2d, codes), codes, fragment_fraction=0, label_unseeded=False
    )
    assert matching(mask2d, plain.labels, 0.5).fn == 1  # a 25-pixel sliver that is all contour
    codes = ["F", "Dn"]
    plain = watershed_from_channels(
        encode_channels(mask3d, codes), codes, fragment_fraction=0, label_unseeded=False
    )
    assert matching(mask3d, plain.labels, 0.5).fp > 10  # one-voxel seeds between touching bands


def test_touching_instances_are_split_and_labels_are_uint32():
    labels = touching_squares()
    result = watershed_from_channels(encode_channels(labels, ["F", "C"]), ["F", "C"])
    assert result.labels.dtype == np.uint32
    assert matching(labels, result.labels, 0.5).f1 == 1.0


def test_explicit_thresholds_and_polarity():
    channels = np.zeros((2, 10, 10), np.float32)
    channels[0, 2:8, 2:8] = 0.9  # F high inside
    channels[1, 2:8, 2:8] = 0.1  # C low inside ...
    channels[1, 2:8, 4:6] = 0.9  # ... but a contour splits it in two
    result = watershed_from_channels(
        channels, ["F", "C"], seed_thresholds=[0.5, 0.5], growth_thresholds=[0.5]
    )
    assert result.labels.max() == 2
    assert result.settings["seed_thresholds"] == {"F": 0.5, "C": 0.5}
    # with the contour threshold above every value, C no longer splits the seed
    merged = watershed_from_channels(
        channels, ["F", "C"], seed_thresholds=[0.5, 0.95], growth_thresholds=[0.5]
    )
    assert merged.labels.max() == 1


def test_growth_mask_limits_the_instances():
    channels = np.zeros((1, 12, 12), np.float32)
    channels[0, 2:10, 2:10] = 0.6
    channels[0, 4:8, 4:8] = 1.0
    tight = watershed_from_channels(channels, ["F"], seed_thresholds=[0.8], growth_thresholds=[0.8])
    loose = watershed_from_channels(channels, ["F"], seed_thresholds=[0.8], growth_thresholds=[0.5])
    assert (tight.labels > 0).sum() == 16 and (loose.labels > 0).sum() == 64


def test_small_seeds_removed_before_watershed():
    channels = np.zeros((1, 12, 12), np.float32)
    channels[0, 1:6, 1:6] = 1.0
    channels[0, 9, 9] = 1.0  # a one-pixel seed
    kept = watershed_from_channels(
        channels, ["F"], seed_thresholds=[0.5], remove_small_before=5, remove_before=False
    )
    removed = watershed_from_channels(
        channels, ["F"], seed_thresholds=[0.5], remove_small_before=5, remove_before=True
    )
    assert kept.labels.max() == 2 and removed.labels.max() == 1


def test_seed_morphology_erode_splits_bridged_seeds():
    channels = np.zeros((1, 9, 17), np.float32)
    channels[0, 1:8, 1:8] = 1
    channels[0, 1:8, 9:16] = 1
    channels[0, 4, 8] = 1  # one-pixel bridge
    joined = watershed_from_channels(channels, ["F"], seed_thresholds=[0.5])
    split = watershed_from_channels(
        channels, ["F"], seed_thresholds=[0.5], seed_morph_sequence=["erode"], seed_morph_radius=[1]
    )
    assert joined.labels.max() == 1 and split.labels.max() == 2


def test_erode_and_dilate_growth_mask_uses_each_radius_for_its_own_step():
    channels = np.zeros((1, 30, 30), np.float32)
    channels[0, 5:25, 5:25] = 1
    channels[0, 14, 25:29] = 1  # a thin spur the opening removes
    result = watershed_from_channels(
        channels,
        ["F"],
        seed_thresholds=[0.5],
        growth_thresholds=[0.5],
        erode_and_dilate_growth_mask=True,
        fore_erosion_radius=2,
        fore_dilation_radius=2,
    )
    assert result.growth_mask[14, 27] == 0 and result.growth_mask[15, 15] == 1


def test_by_2d_slices_gives_each_slice_its_own_instances(mask3d):
    codes = ["F", "C"]
    result = watershed_from_channels(encode_channels(mask3d, codes), codes, by_2d_slices=True)
    # no instance crosses slices
    for label_id in np.unique(result.labels)[1:]:
        assert len(np.unique(np.nonzero(result.labels == label_id)[0])) == 1


def test_offset_surface_is_negative_inside_and_positive_at_rims():
    labels = np.zeros((15, 15), np.uint8)
    labels[2:13, 2:13] = 1
    channels = encode_channels(labels, ["V", "H"])
    surface = topographic_surface(channels, ["V", "H"], "H")
    assert (surface[4:11, 4:11] < 0).all()
    assert (surface[2, 2:13] > 0).all() and (surface[2:13, 12] > 0).all()


def test_offsets_separate_instances_touching_across_their_axis():
    # instance 2 wraps instance 1 above, right and below with the same Y centre; without
    # normalisation V falls by one per row straight across their Y borders, so only H,
    # which jumps across Y there (their X centres differ), can separate them
    labels = np.zeros((22, 22), np.uint8)
    labels[2:20, 2:20] = 2
    labels[7:15, 2:12] = 1
    codes = ["F", "V", "H"]
    options = {"V": {"norm": False}, "H": {"norm": False}}
    result = watershed_from_channels(encode_channels(labels, codes, options), codes)
    assert matching(labels, result.labels, 0.9).f1 == 1.0


def test_bad_arguments_are_named():
    channels = np.zeros((2, 5, 5), np.float32)
    with pytest.raises(ValueError, match=r"`channels` \(shape \(2, 5, 5\)\) must be .* C = 1"):
        watershed_from_channels(channels, ["F"])
    with pytest.raises(ValueError, match=r"`seed_channels` \['Db'\] not among"):
        watershed_from_channels(channels, ["F", "C"], seed_channels=["Db"])
    with pytest.raises(ValueError, match=r"`seed_thresholds` has 1 value"):
        watershed_from_channels(
            channels, ["F", "C"], seed_channels=["F", "C"], seed_thresholds=[0.5]
        )


def test_consecutive_ids_close_the_gaps_left_by_merges_and_empty_ids():
    # ids 0..5: 2 merges into 4, 3 has no voxel left
    table = np.array([0, 1, 4, 3, 4, 5])
    sizes = np.array([0, 10, 2, 0, 7, 3])
    renumber = consecutive_ids(table, sizes)
    assert renumber.dtype == np.uint32
    np.testing.assert_array_equal(renumber, [0, 1, 2, 0, 2, 3])
    np.testing.assert_array_equal(consecutive_ids(np.arange(3), np.array([5, 0, 0])), [0, 0, 0])


def test_compiled_otsu_and_smoothing_equal_skimage_and_scipy(mask2d, mask3d, rng):
    from scipy import ndimage as ndi
    from skimage.filters import threshold_otsu

    from stages.decode.watershed import gaussian_3_taps, otsu_threshold

    for labels in (mask2d, mask3d):
        values = encode_channels(labels, ["Db"])[0] + rng.normal(0, 0.05, labels.shape).astype(
            np.float32
        )
        assert otsu_threshold(values) == pytest.approx(threshold_otsu(values.ravel()), abs=1e-6)
        np.testing.assert_allclose(
            gaussian_3_taps(values), ndi.gaussian_filter(values, 1.0, truncate=1.0), atol=1e-5
        )
        np.testing.assert_allclose(
            gaussian_3_taps(values, 0.7, negate=True),
            -ndi.gaussian_filter(values, 0.7, truncate=1.0),
            atol=1e-5,
        )
    for shape in (
        (1, 5),
        (5, 1),
        (2, 1, 3),
        (1, 1, 1),
    ):  # edges where before, centre and after coincide
        values = rng.random(shape).astype(np.float32)
        np.testing.assert_allclose(
            gaussian_3_taps(values), ndi.gaussian_filter(values, 1.0, truncate=1.0), atol=1e-6
        )
    assert otsu_threshold(np.full((3, 3), 0.25, np.float32)) == 0.25


def _otsu_by_numpy(values):
    """Otsu's threshold of a histogram_256 histogram with numpy's array arithmetic (the reference of
    the compiled one)."""
    from stages.decode._kernels import histogram_256

    values = values.ravel()
    low, high = values.min(), values.max()
    counts = histogram_256(values, low, high)
    edges = np.linspace(float(low), float(high), 257)
    centres = (edges[:-1] + edges[1:]) / 2
    weight_low, weight_high = np.cumsum(counts), np.cumsum(counts[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_low = np.cumsum(counts * centres) / weight_low
        mean_high = (np.cumsum((counts * centres)[::-1]) / weight_high[::-1])[::-1]
    between = weight_low[:-1] * weight_high[1:] * (mean_low[:-1] - mean_high[1:]) ** 2
    return float(centres[np.nanargmax(between)])


def test_compiled_otsu_equals_numpys_arithmetic_to_the_bit(mask2d, rng):
    from stages.decode.watershed import otsu_threshold

    cases = [encode_channels(mask2d, [code])[0] for code in ("F", "C", "Db", "D", "Dn")]
    cases += [rng.random(n) for n in (2, 17, 1000)] + [
        rng.normal(3, 10, 5000).astype(np.float32),
        rng.integers(0, 3, 999).astype(np.float32),
        np.array([0, 0, 0, 1e-7]),
    ]
    for values in cases:
        assert otsu_threshold(values) == _otsu_by_numpy(values)


def test_offset_slope_is_built_on_scipys_sobel(mask2d, mask3d, rng):
    from scipy import ndimage as ndi

    from stages.decode.watershed import offset_slope

    # real offsets, and random ones on shapes whose edges make before, centre and after coincide
    cases = [
        (encode_channels(mask2d, ["V", "H"]), ["V", "H"]),
        (encode_channels(mask3d, ["Z", "V", "H"]), ["Z", "V", "H"]),
    ]
    cases += [
        (rng.random((3, *shape)).astype(np.float32), ["Z", "V", "H"])
        for shape in ((2, 1, 4), (3, 4, 1), (1, 3, 3))
    ]
    cases += [(rng.random((2, 1, 6)).astype(np.float32), ["V", "H"])]
    for channels, codes in cases:
        labels = channels[0]
        expected = np.full(labels.shape, -np.inf, np.float32)
        for index, code in enumerate(codes):
            own = codes.index(code)
            derivatives = [ndi.sobel(channels[index], axis=axis) for axis in range(labels.ndim)]
            across = np.max(
                [np.abs(d) for axis, d in enumerate(derivatives) if axis != own], axis=0
            )
            expected = np.maximum(expected, derivatives[own] + across)
        np.testing.assert_allclose(
            offset_slope(channels, codes, codes), expected, atol=1e-5, err_msg=str(channels.shape)
        )
