"""STU-Net (Huang et al. 2023), the nnU-Net-style residual U-Net BiaPy 3.7.1 builds as
`stunet`: stages of residual blocks (instance norm, leaky ReLU) whose first block strides,
nearest-neighbour upsampling with a 1x1 conv, and a 1x1 output.

Shaped by MODEL.STUNET.VARIANT (small, base, large: BiaPy's sizes) or, with ``custom``, by
DEPTH (blocks per stage), DIMS (channels per stage), POOL_OP_KERNEL_SIZES and
CONV_KERNEL_SIZES (per axis). Its own norms and activations: NORMALIZATION, ACTIVATION,
DROPOUT_VALUES and the U-Net keys do not apply. No pretrained weights are downloaded.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional

from ..settings import ModelSpec
from .blocks import PaddedNetwork, conv_class, total_factor
from .registry import register_architecture

#: BiaPy's STU-Net sizes: (blocks per stage, channels per stage)
VARIANTS = {
    "small": ((1,) * 6, (16, 32, 64, 128, 256, 256)),
    "base": ((1,) * 6, (32, 64, 128, 256, 512, 512)),
    "large": ((2,) * 6, (64, 128, 256, 512, 1024, 1024)),
}


def default_pools(ndim: int) -> list[tuple[int, ...]]:
    """Four poolings by 2 and a last stage at the same scale."""
    return [(2,) * ndim] * 4 + [(1,) * ndim]


class ResidualStageBlock(nn.Module):
    """conv -> instance norm -> leaky ReLU -> conv -> instance norm, plus the input (through a
    strided 1x1 conv when the shape changes), then leaky ReLU."""

    def __init__(
        self,
        ndim: int,
        c_in: int,
        c_out: int,
        kernel: Sequence[int],
        stride: Sequence[int] | int = 1,
        project: bool = False,
    ):
        super().__init__()
        conv = conv_class(ndim)
        norm = nn.InstanceNorm2d if ndim == 2 else nn.InstanceNorm3d
        padding = tuple(k // 2 for k in kernel)
        self.conv1 = conv(c_in, c_out, tuple(kernel), stride=stride, padding=padding)
        self.norm1 = norm(c_out, affine=True)
        self.conv2 = conv(c_out, c_out, tuple(kernel), padding=padding)
        self.norm2 = norm(c_out, affine=True)
        self.projection = conv(c_in, c_out, 1, stride=stride) if project else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = functional.leaky_relu(self.norm1(self.conv1(x)))
        y = self.norm2(self.conv2(y))
        if self.projection is not None:
            x = self.projection(x)
        return functional.leaky_relu(y + x)


class STUNet(PaddedNetwork):
    def __init__(
        self,
        ndim: int,
        in_channels: int,
        out_channels: int,
        *,
        depth: Sequence[int],
        dims: Sequence[int],
        pools: Sequence[Sequence[int]],
        kernels: Sequence[Sequence[int]],
    ):
        super().__init__()
        if not (len(depth) == len(dims) == len(kernels) == len(pools) + 1):
            raise ValueError(
                "STU-Net needs one DEPTH, DIMS and CONV_KERNEL_SIZES entry per stage and one "
                "POOL_OP_KERNEL_SIZES entry fewer"
            )
        self.pools = [tuple(p) for p in pools]
        self.multiple = total_factor(ndim, self.pools)

        def stage(c_in: int, index: int, stride: Sequence[int] | int = 1) -> nn.Sequential:
            blocks = [ResidualStageBlock(ndim, c_in, dims[index], kernels[index], stride, True)]
            blocks += [
                ResidualStageBlock(ndim, dims[index], dims[index], kernels[index])
                for _ in range(depth[index] - 1)
            ]
            return nn.Sequential(*blocks)

        self.encoders = nn.ModuleList([stage(in_channels, 0)])
        for index in range(1, len(dims)):
            self.encoders.append(stage(dims[index - 1], index, self.pools[index - 1]))
        conv = conv_class(ndim)
        self.upsamplers = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for index in range(len(dims) - 2, -1, -1):
            self.upsamplers.append(conv(dims[index + 1], dims[index], 1))
            self.decoders.append(stage(2 * dims[index], index))
        # BiaPy's segmentation output, then its head: two 1x1 convs
        self.output = conv(dims[0], out_channels, 1)
        self.head = conv(out_channels, out_channels, 1)

    def forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for encoder in self.encoders[:-1]:
            x = encoder(x)
            skips.append(x)
        x = self.encoders[-1](x)
        for index, (upsampler, decoder) in enumerate(zip(self.upsamplers, self.decoders)):
            factor = self.pools[len(self.pools) - 1 - index]
            x = upsampler(functional.interpolate(x, scale_factor=factor, mode="nearest"))
            x = decoder(torch.cat([x, skips.pop()], dim=1))
        return self.head(self.output(x))


@register_architecture("stunet")
def build_stunet(spec: ModelSpec) -> nn.Module:
    if spec.stunet_variant == "custom":
        depth, dims = spec.stunet_depth, spec.stunet_dims
        pools = spec.stunet_pools or default_pools(spec.ndim)
        kernels = spec.stunet_kernels or [(3,) * spec.ndim] * len(dims)
    else:
        depth, dims = VARIANTS[spec.stunet_variant]
        pools, kernels = default_pools(spec.ndim), [(3,) * spec.ndim] * 6
    return STUNet(
        spec.ndim, spec.in_channels, spec.out_channels,
        depth=depth, dims=dims, pools=pools, kernels=kernels,
    )  # fmt: skip
