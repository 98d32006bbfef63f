"""BiaPy's weights paired with segpipe's networks by the order their layers are called."""

import pytest
import torch

from stages.nn.foreign_weights import (
    WeightPairingError,
    biapy_call_order,
    call_order,
    joined_biapy_heads,
    pair_biapy_weights,
)
from stages.nn.model import build_model
from stages.nn.settings import ModelSpec


def network(**keys) -> torch.nn.Module:
    spec = ModelSpec(ndim=2, in_channels=1, out_channels=2, feature_maps=(4, 8, 16), **keys)
    torch.manual_seed(0)
    return build_model(spec).eval()


def numbered(model: torch.nn.Module, example: torch.Tensor) -> dict:
    """The model's tensors in call order under names that say nothing of the network (as a
    foreign tool's would), each with its own values."""
    state = model.state_dict()
    return {f"layer{i:04d}.{key.rpartition('.')[2]}": state[key].clone()
            for i, key in enumerate(call_order(model, example))}  # fmt: skip


def test_call_order_follows_the_forward_pass_not_the_registration():
    model = network()
    order = call_order(model, torch.rand(1, 1, 16, 16))
    assert sorted(order) == sorted(model.state_dict())
    # segpipe registers every upsampler before the decoder blocks; they are called in turn
    first_decoder = order.index("decoders.0.0.weight")
    assert (
        order.index("upsamplers.0.0.weight") < first_decoder < order.index("upsamplers.1.0.weight")
    )
    assert order[-2:] == ["head.weight", "head.bias"]


@pytest.mark.parametrize(
    "keys", [{}, {"larger_io": True, "conv_block_order": "norm_act_conv"}, {"norm": "bn"}]
)
def test_weights_in_call_order_load_as_the_same_network(keys):
    source = network(architecture="resunet", **keys)
    example = torch.rand(1, 1, 32, 32)
    for tensor in source.state_dict().values():  # every tensor its own values
        if tensor.dtype.is_floating_point:
            tensor.copy_(torch.rand(tensor.shape))
    target = network(architecture="resunet", **keys)
    target.load_state_dict(pair_biapy_weights(numbered(source, example), target, example))
    with torch.no_grad():
        assert torch.equal(source(example), target(example))


def test_biapy_layers_registered_out_of_call_order_are_moved():
    keys = [
        "down_path.0.shortcut.0.weight",
        "down_path.0.block.0.weight",
        "down_path.0.block.1.weight",
        "bottleneck.weight",
        "conv_in.block.0.weight",
        "heads.0.weight",
    ]
    assert biapy_call_order(keys) == [
        "conv_in.block.0.weight",
        "down_path.0.block.0.weight",
        "down_path.0.block.1.weight",
        "down_path.0.shortcut.0.weight",
        "bottleneck.weight",
        "heads.0.weight",
    ]


def test_biapy_lists_called_between_other_layers_are_woven_in():
    """U-NeXt's downsamplings (after the next level's blocks), ResUNet++'s squeeze-excitations
    (after their level) and attention gates (before their decoder level)."""
    unext = [
        "down_path.0.a", "down_path.1.a", "down_path.2.a",
        "downsample_layers.0.w", "downsample_layers.1.w", "bottleneck.w",
    ]  # fmt: skip
    assert biapy_call_order(unext) == [
        "down_path.0.a", "down_path.1.a", "downsample_layers.0.w",
        "down_path.2.a", "downsample_layers.1.w", "bottleneck.w",
    ]  # fmt: skip
    resunet_plus_plus = [
        "down_path.0.a", "down_path.1.b", "down_path.1.c", "sqex_blocks.0.w", "sqex_blocks.1.w",
        "up_paths.0.0.up.w", "up_paths.0.1.up.w", "attentions.0.0.w", "attentions.0.1.w",
    ]  # fmt: skip
    assert biapy_call_order(resunet_plus_plus) == [
        "down_path.0.a", "sqex_blocks.0.w", "down_path.1.b", "down_path.1.c", "sqex_blocks.1.w",
        "attentions.0.0.w", "up_paths.0.0.up.w", "attentions.0.1.w", "up_paths.0.1.up.w",
    ]  # fmt: skip


def test_biapy_heads_join_into_one_in_head_order():
    state = {
        "body.weight": torch.zeros(3),
        "heads.0.weight": torch.zeros(2, 4, 1, 1),
        "heads.0.bias": torch.tensor([1.0, 2.0]),
        "heads.1.weight": torch.ones(3, 4, 1, 1),
        "heads.1.bias": torch.tensor([3.0, 4.0, 5.0]),
    }
    joined = joined_biapy_heads(state)
    assert list(joined) == ["body.weight", "heads.0.weight", "heads.0.bias"]
    assert joined["heads.0.bias"].tolist() == [1, 2, 3, 4, 5]
    assert joined["heads.0.weight"][:, 0, 0, 0].tolist() == [0, 0, 1, 1, 1]


def test_a_scale_stored_with_fewer_leading_ones_is_reshaped():
    """U-NeXt V2's 3D scale: BiaPy's (1, 1, 1, C), segpipe's (1, 1, 1, 1, C); the same
    broadcast. Other shapes of as many values are still refused."""
    spec = ModelSpec(ndim=3, in_channels=1, out_channels=2, architecture="unext_v2",
                     feature_maps=(4, 8), conv_layers=(1, 1))  # fmt: skip
    model = build_model(spec).eval()
    example = torch.rand(1, 1, 16, 16, 16)
    theirs = numbered(model, example)
    scales = [k for k, v in theirs.items() if v.ndim == 5 and v.shape[:4] == (1, 1, 1, 1)]
    assert scales
    for key in scales:
        theirs[key] = theirs[key].reshape(1, 1, 1, -1)
    paired = pair_biapy_weights(theirs, model, example)
    ours = call_order(model, example)[list(theirs).index(scales[0])]
    assert paired[ours].shape == model.state_dict()[ours].shape
    assert torch.equal(paired[ours].flatten(), theirs[scales[0]].flatten())
    theirs[scales[0]] = theirs[scales[0]].reshape(-1, 1)
    with pytest.raises(WeightPairingError, match="does not fit"):
        pair_biapy_weights(theirs, model, example)


def test_weights_of_another_network_are_refused_by_name():
    example = torch.rand(1, 1, 16, 16)
    theirs = numbered(network(), example)
    wider = build_model(ModelSpec(ndim=2, in_channels=1, out_channels=2, feature_maps=(8, 16, 32)))
    with pytest.raises(WeightPairingError, match=r"layer0000\.weight \(4, 1, 3, 3\) does not fit"):
        pair_biapy_weights(theirs, wider, example)
    fewer = dict(list(theirs.items())[:-2])
    with pytest.raises(WeightPairingError, match="tensors where the network has"):
        pair_biapy_weights(fewer, network(), example)


def test_call_order_leaves_the_training_mode_as_it_was():
    model = network(norm="bn").train()
    call_order(model, torch.rand(2, 1, 16, 16))
    assert model.training
