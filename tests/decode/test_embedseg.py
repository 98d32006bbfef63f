import numpy as np
import pytest
from stardist.matching import matching

from stages.channels import encode_channels
from stages.decode.embedseg import cluster_embeddings


@pytest.mark.parametrize("center_mode", ["centroid", "medoid"])
def test_round_trip_is_exact_on_real_masks(mask2d, mask3d, center_mode):
    for labels in (mask2d, mask3d):
        planes = encode_channels(labels, ["E"], {"E": {"center_mode": center_mode}})
        result = cluster_embeddings(planes, min_object_size=0)
        assert result.labels.dtype == np.uint32
        assert matching(labels, result.labels, 0.99).f1 == 1.0


def test_min_object_size_seed_thresh_and_min_mask_sum(mask2d):
    planes = encode_channels(mask2d, ["E"])
    sizes = np.bincount(mask2d.ravel())[1:]
    sizes = sizes[sizes > 0]
    assert cluster_embeddings(planes, min_object_size=100).labels.max() == (sizes > 100).sum()
    weak = planes.copy()
    weak[-1] *= 0.8  # foreground, but no pixel is seed enough
    assert cluster_embeddings(weak, seed_thresh=0.9, min_object_size=0).labels.max() == 0
    assert cluster_embeddings(planes, min_mask_sum=int((mask2d > 0).sum())).labels.max() == 0


def test_plane_count_is_checked():
    with pytest.raises(ValueError, match="must be 5"):
        cluster_embeddings(np.zeros((4, 8, 8), np.float32))


def test_non_finite_embeddings_are_refused(mask2d):
    planes = encode_channels(mask2d, ["E"])
    planes[0, mask2d > 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        cluster_embeddings(planes)


def _brute_force_clusters(planes, seed_thresh, min_object_size):
    """The seed loop with every kernel computed over the whole foreground (obvious, slow)."""
    ndim = (planes.shape[0] - 1) // 2
    foreground = planes[-1] > 0.5
    embeddings = np.argwhere(foreground) + np.stack(
        [planes[a][foreground] for a in range(ndim)], axis=1
    )
    sigma = np.maximum(np.stack([planes[ndim + a][foreground] for a in range(ndim)], axis=1), 1e-6)
    seeds = planes[-1][foreground]
    unclustered = np.ones(len(seeds), bool)
    assigned = np.zeros(len(seeds), np.uint32)
    for seed in np.argsort(-seeds, kind="stable"):
        if not unclustered[seed]:
            continue
        if seeds[seed] < seed_thresh:
            break
        kernel = np.exp(-0.5 * (((embeddings - embeddings[seed]) / sigma[seed]) ** 2).sum(axis=1))
        proposal = np.flatnonzero(kernel > 0.5)
        if proposal.size > min_object_size and unclustered[proposal].mean() > 0.5:
            assigned[proposal[unclustered[proposal]]] = assigned.max() + 1
        unclustered[proposal] = False
        unclustered[seed] = False
    labels = np.zeros(foreground.shape, np.uint32)
    labels[foreground] = assigned
    return labels


def test_the_grid_finds_what_every_kernel_over_the_foreground_finds(mask3d, rng):
    planes = encode_channels(mask3d, ["E"])
    planes[:3] += rng.normal(0, 0.8, planes[:3].shape).astype(np.float32)  # scattered embeddings
    planes[3:6] *= rng.uniform(0.5, 2.0, planes[3:6].shape).astype(np.float32)  # uneven sigma
    planes[6] = np.clip(planes[6] + rng.normal(0, 0.05, planes[6].shape), 0, 1)
    for seed_thresh, min_object_size in ((0.9, 0), (0.7, 20)):
        expected = _brute_force_clusters(planes, seed_thresh, min_object_size)
        ours = cluster_embeddings(
            planes, seed_thresh=seed_thresh, min_object_size=min_object_size
        ).labels
        assert expected.max() > 30
        np.testing.assert_array_equal(ours, expected)
