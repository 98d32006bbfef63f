import copy

import numpy as np
import pytest
import torch

from stages.nn.inference import fuse_batch_norms, prepare_for_inference
from stages.nn.model import build_model
from stages.nn.patches import patch_grid
from stages.nn.predict import predict_cores
from stages.nn.settings import ModelSpec


def _trained_like(architecture: str, ndim: int) -> torch.nn.Module:
    """A network whose batch norms hold statistics other than the identity, in eval mode."""
    torch.manual_seed(0)
    network = build_model(
        ModelSpec(
            ndim=ndim, in_channels=1, out_channels=2, architecture=architecture,
            feature_maps=(4, 8, 16), norm="bn",
        )
    )  # fmt: skip
    for module in network.modules():
        if isinstance(module, (torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return network.eval()


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("architecture", ["unet", "resunet", "multiresunet"])
def test_folding_batch_norms_keeps_the_outputs(architecture, ndim):
    network = _trained_like(architecture, ndim)
    x = torch.randn((2, 1, 32, 32) if ndim == 2 else (1, 1, 16, 16, 16))
    with torch.no_grad():
        expected = network(x)
        folded = copy.deepcopy(network)
        count = fuse_batch_norms(folded)
        got = folded(x)
    norms = sum(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in folded.modules())
    before = sum(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in network.modules())
    assert count > 0 and norms == before - count
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_folding_needs_eval_mode():
    network = _trained_like("unet", 2).train()
    with pytest.raises(ValueError, match="eval mode"):
        fuse_batch_norms(network)


@pytest.mark.parametrize("ndim", [2, 3])
def test_channel_last_prediction_equals_the_default(ndim):
    network = _trained_like("unet", ndim)
    rng = np.random.default_rng(0)
    image = rng.normal(size=(40, 36, 1) if ndim == 2 else (12, 20, 18, 1)).astype(np.float32)
    patch = (16, 16) if ndim == 2 else (8, 16, 16)
    grid = patch_grid(image.shape[:-1], patch, [2] * ndim, [0.0] * ndim)
    meta = {
        "channels": ["F", "C"],
        "spec": {"in_channels": 1},
        "normalization": {"type": "none", "perc_clip": False},
        "activations": ["sigmoid", "sigmoid"],
    }
    expected = predict_cores(network, meta, image, grid, range(len(grid)), tta=True)
    fast = prepare_for_inference(copy.deepcopy(network), ndim, channels_last=True)
    got = predict_cores(fast, meta, image, grid, range(len(grid)), tta=True, channels_last=True)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_channel_last_is_chosen_where_it_was_measured_faster():
    from stages.nn.inference import prefers_channels_last

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert prefers_channels_last({"architecture": "unet", "norm": "bn"}, cpu)
    assert not prefers_channels_last({"architecture": "unet", "norm": "in"}, cpu)
    assert prefers_channels_last({"architecture": "multiresunet", "norm": "in"}, cpu)
    assert not prefers_channels_last({"architecture": "unext_v1", "norm": "bn"}, cpu)
    # the same on a GPU (an H200: 0.42-0.93x with batch norm), nowhere else
    assert prefers_channels_last({"architecture": "unet", "norm": "bn"}, cuda)
    assert not prefers_channels_last({"architecture": "unet", "norm": "in"}, cuda)
    assert not prefers_channels_last({"architecture": "unet", "norm": "bn"}, torch.device("mps"))


def test_channel_last_weights_leave_other_parameters_alone():
    """U-NeXt's layer scales are rank-4 in 3D: only convolution weights change layout."""
    from stages.nn.inference import to_channels_last

    network = build_model(
        ModelSpec(ndim=3, in_channels=1, out_channels=2, architecture="unext_v1",
                  feature_maps=(4, 8))
    ).eval()  # fmt: skip
    x = torch.randn(1, 1, 8, 16, 16)
    with torch.no_grad():
        expected = network(x)
        to_channels_last(network, 3)
        got = network(x.contiguous(memory_format=torch.channels_last_3d))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
