import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stages.channels import encode_channels
from stages.channels.flows import heat_potential, instance_flows
from stages.nn.data import flip_and_rotate
from tests.strategies import label_images


@pytest.mark.parametrize("gradient_type", ["cellpose", "omnipose"])
@pytest.mark.parametrize("name", ["mask2d", "mask3d"])
def test_flows_are_unit_vectors_inside_and_zero_outside(request, name, gradient_type):
    labels = request.getfixturevalue(name)
    flows = instance_flows(labels, gradient_type)
    assert flows.shape == (labels.ndim, *labels.shape) and flows.dtype == np.float32
    length = np.sqrt((flows**2).sum(axis=0))
    assert not flows[:, labels == 0].any()
    # Omnipose's distance ridge has a few pixels without a slope
    assert np.mean(np.abs(length[labels > 0] - 1) < 1e-4) > (
        0.999 if gradient_type == "cellpose" else 0.995
    )


def test_cellpose_flows_point_to_the_centre_of_a_disk():
    yy, xx = np.mgrid[:21, :21]
    labels = ((yy - 10) ** 2 + (xx - 10) ** 2 <= 64).astype(np.uint8)
    flows = instance_flows(labels)
    assert flows[1, 10, 4] > 0.99 and flows[1, 10, 16] < -0.99  # x component towards x = 10
    assert flows[0, 4, 10] > 0.99 and flows[0, 16, 10] < -0.99
    assert heat_potential(labels).argmax() == 10 * 21 + 10


def test_heat_does_not_cross_into_a_touching_instance():
    labels = np.zeros((9, 20), dtype=np.uint8)
    labels[1:8, 1:10], labels[1:8, 10:19] = 1, 2
    flows = instance_flows(labels)
    # on each side of the shared edge the flow points back into its own instance
    assert (flows[1, 2:7, 9] < 0).all() and (flows[1, 2:7, 10] > 0).all()
    alone = np.where(labels == 1, 1, 0).astype(np.uint8)
    np.testing.assert_allclose(
        heat_potential(labels)[labels == 1], heat_potential(alone)[labels == 1]
    )


@given(label_images())
def test_flow_channels_are_finite_bounded_and_zero_on_background(labels):
    codes = ["F", "Gh", "Gv"] + (["Gz"] if labels.ndim == 3 else [])
    for gradient_type in ("cellpose", "omnipose"):
        options = {c: {"gradient_type": gradient_type} for c in codes[1:]}
        out = encode_channels(labels, codes, options)
        assert np.isfinite(out).all() and np.abs(out[1:]).max(initial=0) <= 1 + 1e-6
        assert not out[1:, labels == 0].any()


@given(label_images(ndim=2), st.sampled_from([(), (-1,), (-2,), (-2, -1)]), st.integers(0, 3))
def test_omnipose_flows_turn_with_the_labels(labels, flips, k):
    # the distance ridge moves exactly with the image (Cellpose's centre pixel may round apart)
    if labels.shape[0] != labels.shape[1]:
        labels = labels[: min(labels.shape), : min(labels.shape)]
    codes = ["F", "Gh", "Gv"]
    options = {"Gh": {"gradient_type": "omnipose"}, "Gv": {"gradient_type": "omnipose"}}
    moved = flip_and_rotate(labels[np.newaxis], flips, k)[0]
    np.testing.assert_allclose(
        flip_and_rotate(encode_channels(labels, codes, options), flips, k, codes),
        encode_channels(moved, codes, options),
        atol=1e-5,
    )


def test_an_unknown_gradient_type_is_refused():
    with pytest.raises(ValueError, match="gradient_type"):
        encode_channels(
            np.ones((4, 4), np.uint8), ["F", "Gh", "Gv"], {"Gh": {"gradient_type": "x"}}
        )
