import numpy as np
import pytest
from skimage.segmentation import find_boundaries

from stages.channels import ENCODERS, encode_channels
from stages.channels.binary import (
    encode_background,
    encode_center_points,
    encode_contour,
    encode_foreground,
    encode_touching,
)
from stages.labels import check_labels
from tests.helpers import touching_squares


def test_foreground_is_every_instance_pixel(mask2d):
    np.testing.assert_array_equal(encode_foreground(mask2d), mask2d > 0)


def test_foreground_erosion_separates_touching_instances_and_keeps_large_ids():
    labels = touching_squares(
        ids=(300, 301)
    )  # ids above 255 must survive (BiaPy wraps them in uint8)
    eroded = encode_foreground(labels, erosion=1)
    assert eroded.sum() == 2 * 4 * 4
    assert not eroded[:, 7:9].any()  # the contact columns are gone


def test_foreground_dilation_grows_the_mask():
    labels = np.zeros((7, 7), np.uint8)
    labels[3, 3] = 1
    assert encode_foreground(labels, dilation=1).sum() == 5  # a 4-neighbour cross


def test_background_is_the_complement_and_its_dilation_cuts_contacts():
    labels = touching_squares()
    np.testing.assert_array_equal(encode_background(labels), labels == 0)
    # dilating the background reaches one pixel into the 6x12 block: its 32 rim pixels
    assert encode_background(labels, dilation=1).sum() == (labels == 0).sum() + 32


def test_center_points_one_per_instance_inside_it(mask2d):
    centers = encode_center_points(mask2d, dilation=0)
    ids = np.unique(mask2d[centers])
    assert centers.sum() == len(np.unique(mask2d)) - 1
    assert 0 not in ids and len(ids) == centers.sum()


def test_center_point_of_a_ring_lies_on_the_ring():
    yy, xx = np.mgrid[:21, :21]
    radius = np.hypot(yy - 10, xx - 10)
    ring = ((radius > 6) & (radius < 9)).astype(np.uint8)
    centers = encode_center_points(ring, dilation=0)
    assert centers.sum() == 1 and ring[centers].all()


def test_center_dilation_stays_inside_its_instance(mask2d):
    centers = encode_center_points(mask2d, dilation=3)
    assert (mask2d[centers] > 0).all()


def test_skeleton_centers_lie_inside():
    labels = np.zeros((9, 20), np.uint8)
    labels[2:7, 2:18] = 1
    centers = encode_center_points(labels, type="skeleton", dilation=0)
    assert centers.sum() >= 10 and labels[centers].all()


@pytest.mark.parametrize("mode", ["thick", "inner", "outer"])
def test_contour_matches_find_boundaries(mask2d, mask3d, mode):
    for labels in (mask2d, mask3d, mask3d[:, :1], mask2d[:1, :7].astype(np.int64)):
        np.testing.assert_array_equal(
            encode_contour(labels, mode=mode), find_boundaries(labels, mode=mode)
        )


def test_touching_marks_only_contacts_between_instances():
    labels = touching_squares()
    touching = encode_touching(labels, thickness=2)
    assert touching[3:9, 7:9].all()
    assert touching.sum() == 12  # one column on each side of the contact
    alone = np.zeros_like(labels)
    alone[3:9, 2:8] = 1
    assert not encode_touching(alone).any()
    assert encode_touching(labels, thickness=4).sum() == 24


def test_encoders_work_in_3d(mask3d):
    out = encode_channels(mask3d, ["F", "B", "P", "C", "T"])
    assert out.shape == (5,) + mask3d.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[0] + out[1], np.ones(mask3d.shape))


def test_empty_image_and_one_pixel_object():
    empty = np.zeros((8, 8), np.uint8)
    planar = [c for c in ENCODERS if not ENCODERS[c].needs_3d]
    assert encode_channels(empty, planar).sum() == pytest.approx(
        float((empty == 0).sum())
    )  # only B is set
    dot = empty.copy()
    dot[4, 4] = 7
    out = encode_channels(dot, ["F", "P", "C", "Db"])
    assert out[0, 4, 4] == 1 and out[1, 4, 4] == 1 and out[2, 4, 4] == 1 and out[3, 4, 4] == 1


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.uint32, np.int64])
def test_any_integer_dtype(mask2d, dtype):
    labels = (mask2d % 100).astype(dtype)
    np.testing.assert_array_equal(encode_channels(labels, ["F"])[0], labels > 0)


@pytest.mark.parametrize("dtype", [">u2", ">i4", ">u4"])
def test_big_endian_labels_encode_as_native_ones(mask2d, dtype):
    # the compiled kernels read native byte order: labels from a big-endian reader are converted
    codes = ["F", "C", "Db", "D"]
    np.testing.assert_array_equal(
        encode_channels(mask2d.astype(dtype), codes), encode_channels(mask2d, codes)
    )


def test_bad_labels_are_rejected():
    with pytest.raises(ValueError, match="must be non-negative"):
        check_labels(np.array([[-1, 0]]))
    with pytest.raises(ValueError, match="integer instance ids"):
        check_labels(np.array([[0.5, 0]]))
    with pytest.raises(ValueError, match="unknown channel code"):
        encode_channels(np.zeros((4, 4), np.uint8), ["Q"])


def test_dense_contour_is_the_rim_outside_the_foreground():
    labels = touching_squares()
    dense = encode_contour(labels, mode="dense")
    assert not dense[labels > 0].any()
    assert dense.sum() == 2 * 12 + 2 * 6  # the face-neighbour rim of the 6x12 block


def test_scattered_centre_points_equal_a_dilation_of_the_centre_image(mask2d, mask3d):
    # reference: paint each centre pixel, grey-dilate by the ball, keep what stays in its instance
    from scipy import ndimage as ndi

    from stages.labels.morphology import ball, inner_points

    for labels in (mask2d, mask3d):
        for radius in (0, 1, 3):
            centers = np.zeros(labels.shape, labels.dtype)
            for label_id, point in inner_points(labels).items():
                centers[point] = label_id
            grown = (
                ndi.grey_dilation(centers, footprint=ball(radius, labels.ndim))
                if radius
                else centers
            )
            expected = np.where((grown == labels) & (labels > 0), grown, centers) > 0
            np.testing.assert_array_equal(encode_center_points(labels, dilation=radius), expected)


def test_subpixel_contour_is_the_crack_grid_pooled_onto_the_pixels(mask2d, mask3d):
    from scipy import ndimage as ndi

    labels = np.zeros((8, 8), np.int32)
    labels[2:6, 2:6] = 1
    contour = encode_contour(labels, mode="subpixel")
    # a pixel is contour when a boundary crack touches it across a face, an edge or a corner
    assert contour[1, 1] and contour[2, 2] and not contour[3, 3] and not contour[0, 0]
    for real in (mask2d, mask3d):
        contour = encode_contour(real, mode="subpixel")
        assert contour.shape == real.shape
        cracks = find_boundaries(real, mode="subpixel")  # the doubled grid, 2n-1 per axis
        pooled = ndi.maximum_filter(cracks, size=3, mode="constant", cval=False)[
            tuple(slice(0, None, 2) for _ in real.shape)
        ]
        np.testing.assert_array_equal(contour, pooled)
        assert (contour >= encode_contour(real, mode="thick")).all()


def test_huge_ids_encode_as_their_small_ids(mask2d):
    """Channels do not depend on id values; ids near 2**31 cost no more than small ones."""
    from tests.helpers import with_huge_ids

    huge, _ = with_huge_ids(mask2d[:128, :128])
    codes = ["F", "C", "Db", "P", "D"]
    np.testing.assert_array_equal(
        encode_channels(huge, codes), encode_channels(mask2d[:128, :128], codes)
    )


def test_erosion_and_dilation_take_one_radius_per_axis_as_biapy(mask3d):
    # a flat footprint in Z is the 2D operation on every section
    flat = encode_channels(
        mask3d, ["F", "B"], {"F": {"erosion": [0, 2, 2]}, "B": {"dilation": [0, 1, 1]}}
    )
    sections = np.stack(
        [
            encode_channels(s, ["F", "B"], {"F": {"erosion": 2}, "B": {"dilation": 1}})
            for s in mask3d
        ],
        axis=1,
    )
    np.testing.assert_array_equal(flat, sections)
    # the same radius on every axis is the ball
    np.testing.assert_array_equal(
        encode_channels(
            mask3d, ["F", "P"], {"F": {"erosion": [1, 1, 1]}, "P": {"dilation": [2, 2, 2]}}
        ),
        encode_channels(mask3d, ["F", "P"], {"F": {"erosion": 1}, "P": {"dilation": 2}}),
    )


def test_an_ellipsoid_footprint_has_the_given_half_axes():
    from stages.labels.morphology import ball

    footprint = ball((1, 3), 2)
    assert footprint.shape == (3, 7) and footprint[1].all() and footprint[:, 3].all()
    assert not footprint[0, 2] and footprint.sum() == 7 + 2  # the rows of Y = ±1 hold X = 0 only


def test_the_main_skeleton_drops_the_side_branches():
    # a bar with a short spine on top, as a dendrite with a spine
    labels = np.zeros((20, 40), np.uint8)
    labels[9:12, 2:38] = 1
    labels[3:10, 19:22] = 1
    options = {"type": "skeleton", "dilation": 0}
    full = encode_channels(labels, ["P"], {"P": options})[0] > 0
    main = encode_channels(labels, ["P"], {"P": {**options, "skeleton_mode": "main"}})[0] > 0
    assert full[3:8].any() and not main[:9].any()  # the spine's branch is gone
    assert (main & ~full).sum() == 0 and np.ptp(np.argwhere(main)[:, 1]) >= 30  # the bar stays
    # 3D: a rod with a side arm keeps the rod
    rod = np.zeros((9, 9, 30), np.uint8)
    rod[3:6, 3:6, 1:29] = 1
    rod[3:6, 6:9, 14:17] = 1
    main3d = encode_channels(rod, ["P"], {"P": {**options, "skeleton_mode": "main"}})[0] > 0
    assert np.ptp(np.argwhere(main3d)[:, 2]) >= 20 and np.argwhere(main3d)[:, 1].max() <= 5
