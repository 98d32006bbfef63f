import pytest
import torch

from stages.nn.activations import apply_activations
from stages.nn.architectures.unet import UNet
from stages.nn.losses import channel_losses


@pytest.mark.parametrize("ndim, size", [(2, (37, 50)), (3, (9, 21, 17))])
def test_any_input_size_gives_the_same_output_size(ndim, size):
    model = UNet(ndim, 2, 3, feature_maps=(4, 8, 16), norm="in", z_down=(1, 2) if ndim == 3 else ())
    out = model(torch.zeros((1, 2) + size))
    assert out.shape == (1, 3) + size


@pytest.mark.parametrize(
    "norm, activation, upsample",
    [
        ("bn", "relu", "convtranspose"),
        ("gn", "elu", "upsampling"),
        ("none", "silu", "convtranspose"),
    ],
)
def test_options(norm, activation, upsample):
    model = UNet(
        2,
        1,
        1,
        feature_maps=(8, 16),
        norm=norm,
        activation=activation,
        upsample=upsample,
        dropout=(0.1, 0.1),
        kernel=5,
    )
    assert model(torch.zeros(2, 1, 16, 16)).shape == (2, 1, 16, 16)


def test_activations_per_channel():
    logits = torch.tensor([[[[0.0]], [[0.0]], [[-5.0]], [[2.0]]]])
    out = apply_activations(logits, ["sigmoid", "tanh", "softplus", "linear"]).flatten().tolist()
    assert out[0] == pytest.approx(0.5) and out[1] == 0 and 0 < out[2] < 0.01 and out[3] == 2


def test_losses_are_masked_where_asked():
    logits = torch.zeros(1, 2, 2, 2)
    targets = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]], [[1.0, 0.0], [0.0, 0.0]]]])
    foreground = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])
    losses = channel_losses(
        logits,
        targets,
        foreground,
        kinds=["binary", "regression"],
        activations=["sigmoid", "linear"],
        masked=[False, True],
    )
    assert losses[0].item() == pytest.approx(
        torch.nn.functional.binary_cross_entropy_with_logits(
            torch.zeros(4), torch.tensor([1.0, 0, 0, 0])
        ).item()
    )
    assert losses[1].item() == pytest.approx(1.0)  # only the foreground pixel counts
    unmasked = channel_losses(
        logits,
        targets,
        foreground,
        kinds=["binary", "regression"],
        activations=["sigmoid", "linear"],
        masked=[False, False],
    )
    assert unmasked[1].item() == pytest.approx(0.25)


#: parameters of BiaPy 3.7.1's U_Net for the same MODEL keys (benchmarks/bench_networks.py,
#: run where BiaPy is installed), two output channels, FEATURE_MAPS [16, 32, 64, 128, 256]
BIAPY_UNET_PARAMETERS = [
    ({"ndim": 2}, 1_944_258),
    ({"ndim": 2, "larger_io": True}, 1_953_314),
    ({"ndim": 2, "upsample": "upsampling", "kernel": 5}, 4_951_490),
    ({"ndim": 3, "z_down": (1, 2, 2, 2)}, 5_646_306),
    ({"ndim": 3, "isotropy": (False,) * 5, "larger_io": True}, 2_127_394),
    ({"ndim": 3, "isotropy": (True, True, False, False, False)}, 2_220_002),
]


@pytest.mark.parametrize("keys, expected", BIAPY_UNET_PARAMETERS)
def test_the_unet_has_biapys_parameters_for_the_same_keys(keys, expected):
    from stages.nn.model import build_model
    from stages.nn.settings import ModelSpec

    network = build_model(ModelSpec(in_channels=1, out_channels=2, **keys))
    assert sum(p.numel() for p in network.parameters()) == expected
    size = (1, 1, 32, 32) if keys["ndim"] == 2 else (1, 1, 8, 32, 32)
    assert network(torch.zeros(size)).shape == (1, 2, *size[2:])


def test_a_card_without_a_layout_rebuilds_the_first_unet():
    """Models written before the BiaPy layout keep loading: same weights, same outputs."""
    from stages.nn.model import build_model

    card = {"ndim": 2, "in_channels": 1, "out_channels": 2, "feature_maps": [8, 16]}
    old = build_model(card)
    assert not any(isinstance(m, torch.nn.InstanceNorm2d) for m in old.upsamplers.modules())
    new = build_model({**card, "layout": 2})
    assert sum(p.numel() for p in new.parameters()) - sum(p.numel() for p in old.parameters()) == 16


def test_layout_3_concatenates_the_upsampled_features_first_as_biapy():
    """Cards of layout 2 keep their decoders' order (skip connection first); the same weights
    in layout 3 are another function, which is why a fine-tuned model keeps its layout."""
    from stages.nn.model import build_model

    card = {"ndim": 2, "in_channels": 1, "out_channels": 2, "feature_maps": [4, 8]}
    torch.manual_seed(0)
    biapy_order, skip_first = build_model(card | {"layout": 3}), build_model(card | {"layout": 2})
    assert not biapy_order.skip_first and skip_first.skip_first
    assert build_model(card | {"layout": 1}).skip_first  # the first U-Net: skip first too
    skip_first.load_state_dict(biapy_order.state_dict())
    x = torch.rand(1, 1, 16, 16)
    with torch.no_grad():
        assert not torch.allclose(biapy_order.eval()(x), skip_first.eval()(x))
        # the decoder's first conv with its input channels swapped gives the same function
        state = biapy_order.state_dict()
        weight = state["decoders.0.0.weight"]
        state["decoders.0.0.weight"] = torch.cat([weight[:, 4:], weight[:, :4]], dim=1)
        skip_first.load_state_dict(state)
        assert torch.allclose(biapy_order(x), skip_first.eval()(x), atol=1e-6)
