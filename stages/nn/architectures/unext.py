"""U-NeXt V1 and V2: U-Nets of ConvNeXt blocks (Liu et al. 2022; V2 with global response
normalisation, Woo et al. 2023) between a strided stem and a transposed-conv output.

Shaped by FEATURE_MAPS, CONV_LAYERS (ConvNeXt blocks per level), Z_DOWN, ISOTROPY,
UPSAMPLE_LAYER and BiaPy's CONVNEXT_SD_PROB (stochastic depth, growing linearly over the
blocks), CONVNEXT_LAYER_SCALE (V1) and CONVNEXT_STEM_K_SIZE; ConvNeXt fixes its own 7x7
kernels, layer norms and GELU, so NORMALIZATION, ACTIVATION, DROPOUT_VALUES and KERNEL_SIZE do
not apply.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..settings import ModelSpec
from .blocks import (
    PaddedNetwork,
    conv_class,
    level_kernel,
    pooling_factor,
    total_factor,
    transposed_class,
)
from .registry import register_architecture


class ChannelNorm(nn.LayerNorm):
    """Layer norm over the channels of an (N, C, ...) tensor."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.movedim(1, -1)).movedim(-1, 1)


class GlobalResponseNorm(nn.Module):
    """ConvNeXt V2's GRN on channel-last features: each channel scaled by its spatial L2 norm
    relative to the channels' mean."""

    def __init__(self, channels: int, ndim: int):
        super().__init__()
        shape = (1,) * (ndim + 1) + (channels,)
        self.gamma = nn.Parameter(torch.zeros(shape))
        self.beta = nn.Parameter(torch.zeros(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spatial = tuple(range(1, x.ndim - 1))
        norms = torch.linalg.vector_norm(x, dim=spatial, keepdim=True)
        relative = norms / (norms.mean(dim=-1, keepdim=True) + 1e-6)
        return self.gamma * (x * relative) + self.beta + x


def drop_path(x: torch.Tensor, probability: float, training: bool) -> torch.Tensor:
    """Stochastic depth: whole samples of a residual branch dropped, the rest rescaled."""
    if not training or probability == 0.0:
        return x
    keep = torch.empty((x.shape[0],) + (1,) * (x.ndim - 1), device=x.device)
    keep = keep.bernoulli_(1.0 - probability)
    return x * keep / (1.0 - probability)


class ConvNeXtBlock(nn.Module):
    """Depthwise 7x7 conv, layer norm, 4x pointwise expansion with GELU (and GRN in V2), back
    to ``dim``, scaled (V1's layer scale) and added to the input."""

    def __init__(
        self,
        ndim: int,
        dim: int,
        kernel: tuple[int, ...],
        *,
        version: int,
        layer_scale: float,
        drop_probability: float,
    ):
        super().__init__()
        self.depthwise = conv_class(ndim)(
            dim, dim, kernel, padding=tuple(k // 2 for k in kernel), groups=dim
        )
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        layers: list[nn.Module] = [nn.Linear(dim, 4 * dim), nn.GELU()]
        if version == 2:
            layers.append(GlobalResponseNorm(4 * dim, ndim))
        layers.append(nn.Linear(4 * dim, dim))
        self.pointwise = nn.Sequential(*layers)
        self.scale = None
        if version == 1 and layer_scale > 0:
            self.scale = nn.Parameter(torch.full((dim,) + (1,) * ndim, layer_scale))
        self.drop_probability = drop_probability

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = self.pointwise(self.norm(self.depthwise(x).movedim(1, -1))).movedim(-1, 1)
        if self.scale is not None:
            branch = self.scale * branch
        return x + drop_path(branch, self.drop_probability, self.training)


class UNeXt(PaddedNetwork):
    def __init__(
        self,
        ndim: int,
        in_channels: int,
        out_channels: int,
        *,
        version: int,
        feature_maps: Sequence[int],
        conv_layers: Sequence[int] = (),
        z_down: Sequence[int] = (),
        yx_down: Sequence[int] = (),
        isotropy: Sequence[bool] = (),
        upsample: str = "convtranspose",
        drop_probability: float = 0.1,
        layer_scale: float = 1e-6,
        stem_kernel: int = 2,
    ):
        super().__init__()
        levels = len(feature_maps)
        conv_layers = list(conv_layers) or [2] * levels
        z_down = list(z_down) or [2] * (levels - 1)
        yx_down = list(yx_down) or [2] * (levels - 1)
        isotropy = list(isotropy) or [True] * levels
        self.factors = [pooling_factor(ndim, z, yx) for z, yx in zip(z_down, yx_down)]
        # BiaPy's stem strides Z by the Y/X stem, or by Z_DOWN's first factor when larger
        z_stem = stem_kernel * max(z_down[0] // stem_kernel, 1)
        stem = (stem_kernel,) * 2 if ndim == 2 else (z_stem, stem_kernel, stem_kernel)
        self.multiple = total_factor(ndim, [stem, *self.factors])
        conv, transposed = conv_class(ndim), transposed_class(ndim)
        total_blocks = sum(conv_layers)
        rates = [drop_probability * i / max(total_blocks - 1, 1) for i in range(total_blocks)]
        rates_per_level = []
        for count in conv_layers:
            rates_per_level.append(rates[:count])
            rates = rates[count:]

        def stage(level: int, dim: int, level_rates: Sequence[float]) -> nn.Sequential:
            kernel = level_kernel(7, ndim, isotropy[level])
            return nn.Sequential(
                *(
                    ConvNeXtBlock(
                        ndim, dim, kernel, version=version, layer_scale=layer_scale,
                        drop_probability=rate,
                    )
                    for rate in level_rates
                )
            )  # fmt: skip

        self.stem = nn.Sequential(
            conv(in_channels, feature_maps[0], stem, stride=stem), ChannelNorm(feature_maps[0])
        )
        self.encoders = nn.ModuleList()
        self.downsamplers = nn.ModuleList()
        for level in range(levels - 1):
            self.encoders.append(stage(level, feature_maps[level], rates_per_level[level]))
            factor = self.factors[level]
            self.downsamplers.append(
                nn.Sequential(
                    ChannelNorm(feature_maps[level]),
                    conv(feature_maps[level], feature_maps[level + 1], factor, stride=factor),
                )
            )
        self.bottleneck = stage(levels - 1, feature_maps[-1], rates_per_level[-1])
        self.upsamplers = nn.ModuleList()
        self.merges = nn.ModuleList()
        self.decoders = nn.ModuleList()
        c_in = feature_maps[-1]
        for level in range(levels - 2, -1, -1):
            fm, factor = feature_maps[level], self.factors[level]
            if upsample == "convtranspose":
                resample = [transposed(c_in, fm, factor, stride=factor)]
            else:
                mode = "bilinear" if ndim == 2 else "trilinear"
                resample = [nn.Upsample(scale_factor=factor, mode=mode), conv(c_in, fm, 1)]
            self.upsamplers.append(nn.Sequential(ChannelNorm(c_in), *resample))
            self.merges.append(conv(2 * fm, fm, 1))
            # the decoder's blocks mirror the encoder's drop rates, deepest first
            self.decoders.append(stage(level, fm, rates_per_level[level][::-1]))
            c_in = fm
        self.output = nn.Sequential(
            transposed(feature_maps[0], feature_maps[0], stem, stride=stem),
            ChannelNorm(feature_maps[0]),
        )
        self.head = conv(feature_maps[0], out_channels, 1)

    def forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        skips = []
        for encoder, downsampler in zip(self.encoders, self.downsamplers):
            x = encoder(x)
            skips.append(x)
            x = downsampler(x)
        x = self.bottleneck(x)
        for upsampler, merge, decoder in zip(self.upsamplers, self.merges, self.decoders):
            x = decoder(merge(torch.cat([upsampler(x), skips.pop()], dim=1)))
        return self.head(self.output(x))


def unext_from_spec(spec: ModelSpec, version: int) -> UNeXt:
    return UNeXt(
        spec.ndim,
        spec.in_channels,
        spec.out_channels,
        version=version,
        feature_maps=spec.feature_maps,
        conv_layers=spec.conv_layers,
        z_down=spec.z_down,
        yx_down=spec.yx_down,
        isotropy=spec.isotropy,
        upsample=spec.upsample,
        drop_probability=spec.convnext_sd_prob,
        layer_scale=spec.convnext_layer_scale,
        stem_kernel=spec.convnext_stem_kernel,
    )


@register_architecture("unext_v1")
def build_unext_v1(spec: ModelSpec) -> nn.Module:
    return unext_from_spec(spec, version=1)


@register_architecture("unext_v2")
def build_unext_v2(spec: ModelSpec) -> nn.Module:
    return unext_from_spec(spec, version=2)
