"""Making a trained network cheaper to apply without changing what it computes."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

_CONVS = (nn.Conv2d, nn.Conv3d)
_TRANSPOSED = (nn.ConvTranspose2d, nn.ConvTranspose3d)
_BATCH_NORMS = (nn.BatchNorm2d, nn.BatchNorm3d)


def fuse_batch_norms(network: nn.Module) -> int:
    """Fold every batch norm that directly follows a convolution inside a Sequential into that
    convolution (in eval mode a batch norm is an affine map per channel); in place.

    Returns how many were folded. The network must be in eval mode.
    """
    if network.training:
        raise ValueError("batch norms fold only into a network in eval mode")
    folded = 0
    for module in network.modules():
        if not isinstance(module, nn.Sequential):
            continue
        for index in range(len(module) - 1):
            conv, norm = module[index], module[index + 1]
            if isinstance(norm, _BATCH_NORMS) and isinstance(conv, _CONVS + _TRANSPOSED):
                module[index] = fuse_conv_bn_eval(
                    conv, norm, transpose=isinstance(conv, _TRANSPOSED)
                )
                module[index + 1] = nn.Identity()
                folded += 1
    return folded


def memory_format(ndim: int) -> torch.memory_format:
    return torch.channels_last if ndim == 2 else torch.channels_last_3d


def to_channels_last(network: nn.Module, ndim: int) -> nn.Module:
    """Convolution weights stored channel-last (the layout oneDNN and cuDNN convolve fastest);
    other parameters, whatever their rank, are left as they are. In place."""
    layout = memory_format(ndim)
    for module in network.modules():
        if isinstance(module, _CONVS + _TRANSPOSED):
            module.weight.data = module.weight.data.contiguous(memory_format=layout)
    return network


#: convolutional networks measured faster with channel-last weights when their normalisation
#: is batch norm: on the CPU 0.57-0.91x the forward time in 2D and 3D, on an H200 0.42-0.93x in
#: 2D (two runs); with instance norm the change ranged from 0.75x to 1.25x on the CPU and
#: 0.62x to 1.30x on the GPU, where its outputs also moved by up to 0.16; U-NeXt, UNETR and
#: STU-Net gained nothing steady on either (benchmarks/RESULTS.md, 2026-12-03 and 2026-12-04)
CHANNELS_LAST_WITH_BATCH_NORM = (
    "unet", "resunet", "attention_unet", "seunet", "resunet_se", "resunet++", "hrnet",
)  # fmt: skip


def prefers_channels_last(spec: dict, device: torch.device) -> bool:
    """Whether channel-last weights make this network faster (measured on the CPU and on a
    CUDA GPU: benchmarks/bench_architectures.py inference and gpu-inference)."""
    if device.type not in ("cpu", "cuda"):
        return False
    architecture = spec.get("architecture", "unet")
    if architecture == "multiresunet":  # always batch norm
        return True
    return spec.get("norm") == "bn" and architecture in CHANNELS_LAST_WITH_BATCH_NORM


def prepare_for_inference(network: nn.Module, ndim: int, *, channels_last: bool) -> nn.Module:
    """The network in eval mode with its batch norms folded into the convolutions, and its
    weights channel-last when ``channels_last`` (inputs must then be converted too)."""
    network.eval()
    fuse_batch_norms(network)
    if channels_last:
        to_channels_last(network, ndim)
    return network
