import numpy as np
import pytest
from stardist.matching import matching

from stages.channels import channel_planes, encode_channels
from stages.decode.watershed import infer_watershed_defaults, relabel_consecutive, topographic_surface, watershed_from_channels

from tests.helpers import touching_squares


@pytest.mark.parametrize("codes, seeds, surface, growth", [
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
])
def test_inferred_defaults_follow_biapy_and_extend_it(codes, seeds, surface, growth):
    assert infer_watershed_defaults(codes) == (seeds, surface, growth)


# F1 at IoU 0.5 of decoding the encoding of the real ground truth (measured; asserted as lower bounds)
ROUND_TRIP_2D = {("F", "C"): 0.99, ("F", "C", "Db"): 0.99, ("F", "P"): 1.0, ("F", "Db"): 0.99, ("B", "C"): 0.99, ("D", "C"): 0.99,
                 ("F", "Dc"): 1.0, ("F", "T"): 0.99, ("F", "Dn"): 0.99, ("F", "C", "Dn"): 0.98}
ROUND_TRIP_3D = {("F", "C"): 1.0, ("F", "C", "Db"): 1.0, ("F", "P"): 1.0, ("F", "Db"): 1.0, ("B", "C"): 1.0, ("D", "C"): 1.0,
                 ("F", "Dc"): 1.0, ("F", "T"): 0.99, ("F", "Dn"): 0.86, ("F", "C", "Dn"): 1.0}


@pytest.mark.parametrize("codes, bound", ROUND_TRIP_2D.items())
def test_round_trip_on_real_2d_masks(mask2d, codes, bound):
    result = watershed_from_channels(encode_channels(mask2d, list(codes)), codes)
    assert matching(mask2d, result.labels, 0.5).f1 >= bound


@pytest.mark.parametrize("codes, bound", ROUND_TRIP_3D.items())
def test_round_trip_on_real_3d_masks(mask3d, codes, bound):
    result = watershed_from_channels(encode_channels(mask3d, list(codes)), codes)
    assert matching(mask3d, result.labels, 0.5).f1 >= bound


@pytest.mark.parametrize("neighborhood, bound_2d", [("4-connectivity", 0.99), ("8-connectivity", 0.99)])
def test_affinities_round_trip_on_real_masks(mask2d, mask3d, neighborhood, bound_2d):
    options = {"A": {"neighborhood": neighborhood}}
    planes = channel_planes(["A"], options, 2)
    result = watershed_from_channels(encode_channels(mask2d, ["A"], options), planes)
    # one nucleus with a one-pixel neck loses its seed there and splits in two (2D: 125 of 125 found, 1 extra)
    assert matching(mask2d, result.labels, 0.5).f1 >= bound_2d
    assert result.settings["seed_channels"] == ["A"] and result.settings["growth_channels"] == ["F"]
    three = {"A": {"neighborhood": "6-connectivity"}}
    result = watershed_from_channels(encode_channels(mask3d, ["A"], three), channel_planes(["A"], three, 3))
    assert matching(mask3d, result.labels, 0.9).f1 == 1.0


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
    result = watershed_from_channels(channels, ["F", "C"], seed_thresholds=[0.5, 0.5], growth_thresholds=[0.5])
    assert result.labels.max() == 2
    assert result.settings["seed_thresholds"] == {"F": 0.5, "C": 0.5}
    # with the contour threshold above every value, C no longer splits the seed
    merged = watershed_from_channels(channels, ["F", "C"], seed_thresholds=[0.5, 0.95], growth_thresholds=[0.5])
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
    kept = watershed_from_channels(channels, ["F"], seed_thresholds=[0.5], remove_small_before=5, remove_before=False)
    removed = watershed_from_channels(channels, ["F"], seed_thresholds=[0.5], remove_small_before=5, remove_before=True)
    assert kept.labels.max() == 2 and removed.labels.max() == 1


def test_seed_morphology_erode_splits_bridged_seeds():
    channels = np.zeros((1, 9, 17), np.float32)
    channels[0, 1:8, 1:8] = 1
    channels[0, 1:8, 9:16] = 1
    channels[0, 4, 8] = 1  # one-pixel bridge
    joined = watershed_from_channels(channels, ["F"], seed_thresholds=[0.5])
    split = watershed_from_channels(channels, ["F"], seed_thresholds=[0.5], seed_morph_sequence=["erode"], seed_morph_radius=[1])
    assert joined.labels.max() == 1 and split.labels.max() == 2


def test_erode_and_dilate_growth_mask_uses_each_radius_for_its_own_step():
    channels = np.zeros((1, 30, 30), np.float32)
    channels[0, 5:25, 5:25] = 1
    channels[0, 14, 25:29] = 1  # a thin spur the opening removes
    result = watershed_from_channels(channels, ["F"], seed_thresholds=[0.5], growth_thresholds=[0.5],
                                     erode_and_dilate_growth_mask=True, fore_erosion_radius=2, fore_dilation_radius=2)
    assert result.growth_mask[14, 27] == 0 and result.growth_mask[15, 15] == 1


def test_by_2d_slices_gives_each_slice_its_own_instances(mask3d):
    codes = ["F", "C"]
    result = watershed_from_channels(encode_channels(mask3d, codes), codes, by_2d_slices=True)
    # no instance crosses slices
    for label_id in np.unique(result.labels)[1:]:
        assert len(np.unique(np.nonzero(result.labels == label_id)[0])) == 1


def test_offset_gradient_surface_is_low_at_centres():
    labels = np.zeros((15, 15), np.uint8)
    labels[2:13, 2:13] = 1
    channels = encode_channels(labels, ["V", "H"])
    surface = topographic_surface(channels, ["V", "H"], "H")
    assert surface[7, 7] < surface[2:13, 2:13].mean()


def test_bad_arguments_are_named():
    channels = np.zeros((2, 5, 5), np.float32)
    with pytest.raises(ValueError, match=r"`channels` \(shape \(2, 5, 5\)\) must be .* C = 1"):
        watershed_from_channels(channels, ["F"])
    with pytest.raises(ValueError, match=r"`seed_channels` \['Db'\] not among"):
        watershed_from_channels(channels, ["F", "C"], seed_channels=["Db"])
    with pytest.raises(ValueError, match=r"`seed_thresholds` has 1 value"):
        watershed_from_channels(channels, ["F", "C"], seed_channels=["F", "C"], seed_thresholds=[0.5])


def test_relabel_consecutive_closes_gaps_only_when_there_are_some():
    labels = np.array([[0, 3, 3], [7, 0, 9]], dtype=np.int64)
    np.testing.assert_array_equal(relabel_consecutive(labels), [[0, 1, 1], [2, 0, 3]])
    full = np.array([[1, 2], [2, 1]])
    assert relabel_consecutive(full).dtype == np.uint32 and relabel_consecutive(full).tolist() == [[1, 2], [2, 1]]
    assert relabel_consecutive(np.zeros((2, 2), np.int64)).max() == 0
