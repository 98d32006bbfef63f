import numpy as np
import pytest

from stages.channels import encode_channels
from stages.channels.flows import instance_flows
from stages.decode import decode_channels, decoder_for
from stages.decode.flows import flow_errors, flows_to_instances, follow_flows
from stages.metrics import match_instances


def _f1(truth, labels, threshold):
    return match_instances(truth, labels, (threshold,))[0].stats["f1"]


@pytest.mark.parametrize("name", ["mask2d", "mask3d"])
def test_cellpose_flows_of_the_real_masks_decode_back_to_them(request, name):
    truth = request.getfixturevalue(name)
    result = flows_to_instances(instance_flows(truth), truth > 0)
    assert result.labels.max() == len(np.unique(truth)) - 1
    assert _f1(truth, result.labels, 0.9) == 1.0
    assert result.settings["dropped_by_flow_error"] == 0


@pytest.mark.parametrize("name, least", [("mask2d", 0.97), ("mask3d", 1.0)])
def test_omnipose_flows_of_the_real_masks_decode_back_to_them(request, name, least):
    truth = request.getfixturevalue(name)
    flows = instance_flows(truth, "omnipose")
    result = flows_to_instances(flows, truth > 0, gradient_type="omnipose")
    assert _f1(truth, result.labels, 0.5) >= least


def test_pixels_end_where_the_flow_leads():
    labels = np.zeros((15, 15), np.uint8)
    labels[2:13, 2:13] = 1
    ends = follow_flows(instance_flows(labels), labels > 0, 50)
    np.testing.assert_allclose(ends, np.full_like(ends, 7), atol=1.0)  # the square's centre


def test_flows_that_disagree_with_the_mask_have_a_large_error(mask2d):
    flows = instance_flows(mask2d)
    assert flow_errors(mask2d, flows, "cellpose")[1:].max() < 1e-6
    reversed_in_one = np.where(mask2d == 7, -flows, flows)
    errors = flow_errors(mask2d, reversed_in_one, "cellpose")
    assert errors[7] > 3 and np.delete(errors, [0, 7]).max() < 1e-6


def test_an_instance_whose_flows_disagree_is_dropped():
    labels = np.zeros((24, 24), np.uint8)
    labels[1:8, 1:8], labels[10:22, 10:22] = 1, 2
    flows = instance_flows(labels)
    # a uniform flow in the second square: its pixels pile up along its lower edge, where the
    # flows its mask would have point the other way
    flows[:, labels == 2] = np.array([[0.0], [1.0]])
    kept = flows_to_instances(flows, labels > 0, flow_threshold=0.4)
    everything = flows_to_instances(flows, labels > 0, flow_threshold=0)
    assert kept.labels.max() == 1 and kept.settings["dropped_by_flow_error"] == 1
    assert everything.labels.max() == 2


@pytest.mark.parametrize(
    "codes, foreground",
    [(["F", "Gh", "Gv"], "F > 0.5"), (["B", "Gh", "Gv"], "B < 0.5"), (["Db", "Gh", "Gv"], "Db >")],
)
def test_the_flow_channels_select_the_gradient_flow_decoder(mask2d, codes, foreground):
    assert decoder_for(codes) == "gradient-flow"
    channels = encode_channels(mask2d, codes)
    decoded = decode_channels(channels, codes)
    assert decoded.decoder == "gradient-flow" and decoded.settings["foreground"].startswith(
        foreground
    )
    assert _f1(mask2d, decoded.labels, 0.5) >= 0.98


def test_a_3d_set_without_gz_flows_within_its_sections(mask3d):
    codes = ["F", "Gh", "Gv"]
    decoded = decode_channels(encode_channels(mask3d, codes), codes)
    assert decoded.labels.shape == mask3d.shape and decoded.labels.max() > 0


def _follow_with_scipy(flows, foreground, steps, suppressed):
    from scipy import ndimage

    positions = np.argwhere(foreground).astype(np.float64)
    flows = np.where(foreground, flows, 0).astype(np.float64)
    upper = np.array(foreground.shape, dtype=np.float64) - 1
    for done in range(steps):
        step = np.stack(
            [ndimage.map_coordinates(c, positions.T, order=1, mode="nearest") for c in flows], 1
        )
        positions = np.clip(positions + step / (1 + done if suppressed else 1), 0, upper)
    return positions


@pytest.mark.parametrize("suppressed", [False, True])
@pytest.mark.parametrize("name", ["mask2d", "mask3d"])
def test_the_compiled_steps_are_scipys_linear_interpolation(request, name, suppressed):
    labels = request.getfixturevalue(name)
    labels = labels[:128, :128] if labels.ndim == 2 else labels
    flows = instance_flows(labels)
    np.testing.assert_allclose(
        follow_flows(flows, labels > 0, 30, suppressed=suppressed),
        _follow_with_scipy(flows, labels > 0, 30, suppressed),
        atol=1e-3,
    )


def test_omnipose_flows_with_a_negative_background_distance_as_foreground(mask2d):
    from stages.decode.settings import GradientFlowSettings

    codes = ["Db", "Gh", "Gv"]
    flows = {"gradient_type": "omnipose"}
    options = {"Db": {"norm": False, "background": -5.0, "mask_values": False},
               "Gh": flows, "Gv": flows}  # fmt: skip
    channels = encode_channels(mask2d, codes, options)
    decoded = decode_channels(
        channels, codes, {"gradient-flow": GradientFlowSettings(mask_threshold=0.0)}, options
    )
    assert decoded.settings["foreground"] == "Db > 0 (mask threshold)"
    assert _f1(mask2d, decoded.labels, 0.5) >= 0.97
