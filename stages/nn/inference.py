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


def prefers_channels_last(spec: dict, device: torch.device) -> bool:
    """Whether channel-last weights make this network faster on this device (measured:
    benchmarks/bench_architectures.py inference)."""
    return False


def prepare_for_inference(network: nn.Module, ndim: int, *, channels_last: bool) -> nn.Module:
    """The network in eval mode with its batch norms folded into the convolutions, and its
    weights channel-last when ``channels_last`` (inputs must then be converted too)."""
    network.eval()
    fuse_batch_norms(network)
    if channels_last:
        network.to(memory_format=memory_format(ndim))
    return network
