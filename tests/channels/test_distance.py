import numpy as np
import pytest
from scipy import ndimage as ndi

from stages.channels import encode_channels
from stages.channels.distance import (
    encode_distance_to_boundary,
    encode_distance_to_center,
    encode_offset_x,
    encode_offset_y,
    encode_offset_z,
    encode_signed_distance,
)
from tests.helpers import touching_squares


def test_distance_to_boundary_equals_per_instance_edt(mask2d):
    raw = encode_distance_to_boundary(mask2d, norm=False)
    # reference: one distance transform per instance (slow, obvious)
    reference = np.zeros(mask2d.shape, np.float32)
    for label_id in np.unique(mask2d)[1:]:
        inside = mask2d == label_id
        reference[inside] = ndi.distance_transform_edt(inside)[inside]
    np.testing.assert_allclose(raw, reference, atol=1e-4)


def test_normalised_distance_peaks_at_one_in_every_instance(mask2d):
    db = encode_distance_to_boundary(mask2d)
    maxima = ndi.maximum(db, mask2d, np.unique(mask2d)[1:])
    np.testing.assert_allclose(maxima, 1.0)
    assert db[mask2d == 0].max() == 0


def test_touching_instances_get_their_own_boundary():
    db = encode_distance_to_boundary(touching_squares(), norm=False)
    assert db[5, 7] == 1 and db[5, 8] == 1  # the contact is a boundary for both


def test_distance_to_center_is_zero_free_inside_and_highest_far_away(mask2d):
    dc = encode_distance_to_center(mask2d)
    inside = mask2d > 0
    assert (dc[inside] > 0).all() and dc[~inside].max() == 0
    assert dc.max() == pytest.approx(1.0)


def test_signed_distance_sign_and_range(mask2d):
    d = encode_signed_distance(mask2d, act="linear")
    assert (d[mask2d > 0] > 0).all() and (d[mask2d == 0] <= 0).all()
    assert d.min() >= -1 and d.max() <= 1
    t = encode_signed_distance(mask2d, act="tanh", beta=2.0)
    np.testing.assert_allclose(t[mask2d > 0], np.tanh(2.0 * d[mask2d > 0]), atol=1e-6)


def test_offsets_point_to_the_centroid():
    labels = np.zeros((9, 11), np.uint8)
    labels[2:7, 3:8] = 1  # centroid (4, 5)
    h = encode_offset_x(labels, norm=False)
    v = encode_offset_y(labels, norm=False)
    assert h[4, 3] == 2 and h[4, 7] == -2 and v[2, 5] == 2 and v[6, 5] == -2
    assert encode_offset_x(labels)[4, 3] == 1.0


def test_offsets_in_3d(mask3d):
    out = encode_channels(mask3d, ["Z", "V", "H"])
    assert np.abs(out).max() <= 1
    z = encode_offset_z(mask3d, norm=False)
    for label_id in np.unique(mask3d)[1:]:
        # offsets to the centroid average to zero over each instance
        np.testing.assert_allclose(z[mask3d == label_id].mean(), 0, atol=1e-4)


def test_z_needs_3d():
    with pytest.raises(ValueError, match="channel Z needs 3D"):
        encode_channels(np.ones((4, 4), np.uint8), ["Z"])


def _slow_distance_to_others(labels):
    """Reference: one whole-image distance transform per instance (BiaPy's way)."""
    out = np.zeros(labels.shape, np.float32)
    ids = np.unique(labels)[1:]
    for label_id in ids:
        others = (labels > 0) & (labels != label_id)
        if others.any():
            distance = ndi.distance_transform_edt(~others)
            out[labels == label_id] = distance[labels == label_id]
    return out


def test_windowed_distance_to_neighbours_is_exact(mask2d, mask3d):
    from stages.channels.distance import _distance_to_other_instances

    for labels in (mask2d, mask3d):
        fast, has = _distance_to_other_instances(labels)
        np.testing.assert_allclose(fast, _slow_distance_to_others(labels), rtol=1e-6)
        assert has.sum() == (labels > 0).sum()


def test_distance_to_neighbours_is_high_at_contacts_and_zero_when_alone():
    from stages.channels.distance import encode_distance_to_neighbours

    labels = touching_squares()
    dn = encode_distance_to_neighbours(labels, closing_size=0, decline_power=1)
    # the contact is 1 pixel from the neighbour, the far side 6: 1 - 1/6 and 1 - 6/6
    assert dn[5, 7] == pytest.approx(5 / 6) and dn[5, 8] == pytest.approx(5 / 6)
    assert dn[5, 2] == pytest.approx(0.0) and dn[5, 13] == pytest.approx(0.0)  # the far sides
    assert dn.max() <= 1 and dn.min() >= 0
    steep = encode_distance_to_neighbours(labels, closing_size=0, decline_power=3)
    np.testing.assert_allclose(steep, dn**3, atol=1e-6)
    alone = np.zeros((9, 9), np.uint8)
    alone[2:7, 2:7] = 4
    assert not encode_distance_to_neighbours(alone).any()


def test_distance_to_centroid_equals_a_transform_from_the_centre_pixel(mask2d, mask3d):
    from stages.labels.morphology import inner_points

    for labels in (mask2d, mask3d):
        expected = np.zeros(labels.shape, np.float32)
        points = inner_points(labels)
        for index, box in enumerate(ndi.find_objects(labels)):
            if box is None:
                continue
            mask = labels[box] == index + 1
            center = np.zeros(mask.shape, bool)
            center[tuple(p - s.start for p, s in zip(points[index + 1], box))] = True
            expected[box][mask] = ndi.distance_transform_edt(~center)[mask]
        np.testing.assert_allclose(
            encode_distance_to_center(labels, norm=False), expected, atol=1e-5
        )


@pytest.mark.parametrize("name", ["mask2d", "mask3d"])
def test_signed_distance_sides_are_scipys_exact_transforms(name, request):
    # D takes both sides from one multi-label transform with the background as a label
    labels = request.getfixturevalue(name)
    out = encode_signed_distance(labels, act="linear", norm=False)
    outside = ndi.distance_transform_edt(labels == 0)
    np.testing.assert_allclose(-out[labels == 0], outside[labels == 0], rtol=1e-6)
    np.testing.assert_allclose(
        out[labels > 0], encode_distance_to_boundary(labels, norm=False)[labels > 0], rtol=1e-6
    )


@pytest.mark.parametrize("name", ["mask2d", "mask3d"])
def test_scaled_signed_distance_equals_the_formula_voxel_by_voxel(name, request):
    # D's values come from a table of (id, squared distance): compare with scaling each voxel
    labels = request.getfixturevalue(name)
    inside = encode_distance_to_boundary(labels, norm=False).astype(np.float64)
    outside = ndi.distance_transform_edt(labels == 0).astype(np.float32).astype(np.float64)
    ids = np.unique(labels)[1:]
    top_inside = np.zeros(labels.max() + 1)
    top_inside[ids] = ndi.maximum(inside, labels, ids)
    expected = np.where(
        labels > 0,
        0.7 * inside / np.maximum(top_inside[labels], 1e-30),
        -1.6 * outside / outside.max(),
    )
    out = encode_signed_distance(labels, act="tanh", alpha=1.6, beta=0.7)
    np.testing.assert_array_equal(out, np.tanh(expected).astype(np.float32))
    raw = encode_signed_distance(labels, act="linear", alpha=1.6, beta=0.7, norm=False)
    np.testing.assert_array_equal(
        raw, np.where(labels > 0, 0.7 * inside, -1.6 * outside).astype(np.float32)
    )


@pytest.mark.parametrize("shape", [(5, 6), (3, 4, 5)])
def test_an_instance_filling_the_image_is_measured_to_the_image_border(shape):
    # a training patch inside one big cell: no boundary in view, yet finite targets
    labels = np.full(shape, 65535, np.uint16)
    to_border = ndi.distance_transform_edt(np.pad(np.ones(shape), 1))[(slice(1, -1),) * len(shape)]
    np.testing.assert_allclose(
        encode_distance_to_boundary(labels, norm=False), to_border, rtol=1e-6
    )
    np.testing.assert_allclose(
        encode_signed_distance(labels, act="linear", norm=False), to_border, rtol=1e-6
    )
    assert np.isfinite(encode_channels(labels, ["F", "Db", "D"])).all()


def test_inner_points_fall_back_to_the_voxel_nearest_the_centroid(mask2d, mask3d):
    from stages.labels.morphology import inner_points

    fallbacks = 0
    for labels in (mask2d, mask3d):
        points = inner_points(labels)
        for label_id in np.unique(labels)[1:]:
            coords = np.argwhere(labels == label_id)  # raster order: argmin keeps the first on ties
            centroid = coords.mean(axis=0)
            rounded = tuple(np.rint(centroid).astype(int))
            if labels[rounded] == label_id:
                assert points[label_id] == rounded
            else:
                fallbacks += 1
                assert points[label_id] == tuple(
                    coords[np.argmin(((coords - centroid) ** 2).sum(axis=1))]
                )
    assert fallbacks > 0  # the real nuclei include some whose centroid lies outside them


def test_db_output_activation_follows_its_act_option_as_biapy_3_7_1():
    from stages.channels import ENCODERS

    def activation(**options):
        encoder = ENCODERS["Db"]
        return encoder.plane_activations(encoder.resolve_options(options, 2), 2)

    assert activation() == ["sigmoid"] and activation(norm=False) == ["softplus"]
    assert activation(act="linear") == ["linear"] and activation(norm=False, act="sigmoid") == [
        "sigmoid"
    ]
    with pytest.raises(ValueError, match="act"):
        activation(act="tanh")


def test_db_background_is_set_outside_the_instances_and_makes_the_output_linear(mask2d):
    from stages.channels import ENCODERS, encode_channels

    plain = encode_channels(mask2d, ["Db"], {"Db": {"norm": False}})[0]
    below = encode_channels(mask2d, ["Db"], {"Db": {"norm": False, "background": -5.0}})[0]
    np.testing.assert_array_equal(below[mask2d > 0], plain[mask2d > 0])
    assert (below[mask2d == 0] == -5).all()
    options = ENCODERS["Db"].resolve_options({"norm": False, "background": -5.0}, 2)
    assert ENCODERS["Db"].plane_activations(options, 2) == ["linear"]
