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
