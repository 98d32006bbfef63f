"""MultiResUNet (Ibtehaz and Rahman 2020): multi-resolution blocks (three chained 3x3 convs
standing for 3x3, 5x5 and 7x7 receptive fields) and residual paths on the skip connections.

Its shape is fixed, as in BiaPy: five levels of 32, 64, 128, 256 and 512 base filters times
alpha = 1.67, batch normalisation and ReLU; of the MODEL keys only Z_DOWN applies.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional

from ..settings import ModelSpec
from .blocks import (
    PaddedNetwork,
    conv_class,
    pooling_factor,
    same_conv,
    total_factor,
    transposed_class,
)
from .registry import register_architecture

ALPHA = 1.67
BASE_FILTERS = (32, 64, 128, 256, 512)


def batch_norm(ndim: int, channels: int) -> nn.Module:
    return (nn.BatchNorm2d if ndim == 2 else nn.BatchNorm3d)(channels)


def conv_norm(ndim: int, c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(same_conv(ndim, c_in, c_out, kernel), batch_norm(ndim, c_out))


def multires_widths(filters: int) -> tuple[int, int, int]:
    """Output channels of the block's three chained convs."""
    width = filters * ALPHA
    return int(width * 0.167), int(width * 0.333), int(width * 0.5)


class MultiResBlock(nn.Module):
    def __init__(self, ndim: int, c_in: int, filters: int):
        super().__init__()
        widths = multires_widths(filters)
        self.c_out = sum(widths)
        self.shortcut = conv_norm(ndim, c_in, self.c_out, 1)
        self.convs = nn.ModuleList(
            conv_norm(ndim, c, w, 3) for c, w in zip((c_in,) + widths[:2], widths)
        )
        self.norm_sum = batch_norm(ndim, self.c_out)
        self.norm_out = batch_norm(ndim, self.c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.shortcut(x)
        outputs = []
        for conv in self.convs:
            x = functional.relu(conv(x))
            outputs.append(x)
        summed = self.norm_sum(torch.cat(outputs, dim=1)) + shortcut
        return functional.relu(self.norm_out(summed))


class ResidualPath(nn.Module):
    """``length`` residual 3x3 convs on a skip connection; each step's batch norm is applied
    twice, as in the reference implementation."""

    def __init__(self, ndim: int, c_in: int, c_out: int, length: int):
        super().__init__()
        self.shortcuts = nn.ModuleList()
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        for step in range(length):
            c = c_in if step == 0 else c_out
            self.shortcuts.append(conv_norm(ndim, c, c_out, 1))
            self.convs.append(conv_norm(ndim, c, c_out, 3))
            self.norms.append(batch_norm(ndim, c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for shortcut, conv, norm in zip(self.shortcuts, self.convs, self.norms):
            residual = shortcut(x)
            x = functional.relu(norm(functional.relu(conv(x)))) + residual
            x = functional.relu(norm(x))
        return x


class MultiResUNet(PaddedNetwork):
    def __init__(self, ndim: int, in_channels: int, out_channels: int, z_down: Sequence[int] = ()):
        super().__init__()
        levels = len(BASE_FILTERS)
        z_down = list(z_down) or [2] * (levels - 1)
        self.factors = [pooling_factor(ndim, z) for z in z_down[: levels - 1]]
        self.multiple = total_factor(ndim, self.factors)
        self.encoders = nn.ModuleList()
        self.paths = nn.ModuleList()
        c_in = in_channels
        for level, filters in enumerate(BASE_FILTERS):
            block = MultiResBlock(ndim, c_in, filters)
            self.encoders.append(block)
            if level < levels - 1:
                self.paths.append(ResidualPath(ndim, block.c_out, filters, levels - 1 - level))
            c_in = block.c_out
        self.upsamplers = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for level in range(levels - 2, -1, -1):
            filters, factor = BASE_FILTERS[level], self.factors[level]
            self.upsamplers.append(
                transposed_class(ndim)(c_in, filters, kernel_size=factor, stride=factor)
            )
            block = MultiResBlock(ndim, 2 * filters, filters)
            self.decoders.append(block)
            c_in = block.c_out
        self.head = conv_class(ndim)(c_in, out_channels, 1)

    def forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        pool = functional.max_pool2d if x.ndim == 4 else functional.max_pool3d
        skips = []
        for level, encoder in enumerate(self.encoders):
            x = encoder(x)
            if level < len(self.paths):
                skips.append(self.paths[level](x))
                x = pool(x, self.factors[level])
        for upsampler, decoder in zip(self.upsamplers, self.decoders):
            x = decoder(torch.cat([upsampler(x), skips.pop()], dim=1))
        return self.head(x)


@register_architecture("multiresunet")
def build_multiresunet(spec: ModelSpec) -> nn.Module:
    return MultiResUNet(spec.ndim, spec.in_channels, spec.out_channels, z_down=spec.z_down)
