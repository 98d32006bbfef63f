"""R, A and E on random label images, 2D and 3D (hypothesis)."""

from hypothesis import given
from hypothesis import strategies as st

from stages.channels import channel_planes, encode_channels
from stages.channels.rays import make_rays
from stages.decode.embedseg import cluster_embeddings
from stages.decode.stardist import star_nms
from stages.decode.watershed import watershed_from_channels
from stages.metrics import match_instances
from tests.strategies import label_images, separated_blobs


@given(label_images())
def test_rays_are_positive_inside_and_zero_outside(labels):
    rays = encode_channels(labels, ["R"], {"R": {"nrays": 8}})
    assert (rays[:, labels > 0] >= 0.5).all() and not rays[:, labels == 0].any()


def _exact(labels, decoded, threshold):
    stats = match_instances(labels, decoded, [threshold])[0].stats
    return stats["fn"] == 0 and stats["fp"] == 0


@given(st.sampled_from([2, 3]).flatmap(separated_blobs))
def test_embedding_round_trip_is_exact(labels):
    assert _exact(
        labels, cluster_embeddings(encode_channels(labels, ["E"]), min_object_size=0).labels, 0.99
    )


@given(label_images())
def test_embedding_clusters_stay_in_the_foreground(labels):
    # touching, nested and cut boxes: instances whose centroids coincide (a ring around a box)
    # merge, nothing leaks out
    decoded = cluster_embeddings(encode_channels(labels, ["E"]), min_object_size=0).labels
    assert not decoded[labels == 0].any() and (decoded[labels > 0] > 0).all()


@given(st.sampled_from([2, 3]).flatmap(separated_blobs))
def test_affinities_and_stardist_find_every_thick_instance(labels):
    planes = channel_planes(["A"], {}, labels.ndim)
    assert _exact(
        labels, watershed_from_channels(encode_channels(labels, ["A"]), planes).labels, 0.9
    )
    channels = encode_channels(labels, ["Db", "R"])
    assert _exact(
        labels, star_nms(channels[0], channels[1:], make_rays(None, labels.ndim)).labels, 0.5
    )
