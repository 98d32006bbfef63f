import numpy as np
from scipy import ndimage as ndi

from stages.channels import encode_channels
from stages.channels.embedding import embedding_plane_names, instance_centres


def test_every_pixel_embeds_at_its_centroid(mask2d):
    planes = encode_channels(mask2d, ["E"])
    assert embedding_plane_names(2) == [
        "E_offset_y",
        "E_offset_x",
        "E_sigma_y",
        "E_sigma_x",
        "E_seediness",
    ]
    ys, xs = np.nonzero(mask2d)
    embedded = np.stack([ys + planes[0, ys, xs], xs + planes[1, ys, xs]], axis=1)
    ids = np.unique(mask2d)[1:]
    centroids = np.asarray(ndi.center_of_mass(np.ones_like(mask2d), mask2d, ids))
    lookup = {int(i): c for i, c in zip(ids, centroids)}
    expected = np.stack([lookup[int(v)] for v in mask2d[ys, xs]])
    np.testing.assert_allclose(embedded, expected, atol=1e-3)
    assert (planes[2:4, mask2d > 0] >= 0.5).all() and not planes[:, mask2d == 0].any()
    np.testing.assert_array_equal(planes[4], mask2d > 0)


def test_medoid_is_a_pixel_of_its_instance(mask3d):
    ids, centres = instance_centres(mask3d, "medoid")
    assert centres.shape == (len(ids), 3)
    np.testing.assert_array_equal(mask3d[tuple(centres.astype(int).T)], ids)
    _, sampled = instance_centres(mask3d, "medoid", medoid_max_points=20)
    np.testing.assert_array_equal(mask3d[tuple(sampled.astype(int).T)], ids)


def test_empty_image():
    assert not encode_channels(np.zeros((4, 5, 6), np.uint8), ["E"]).any()
