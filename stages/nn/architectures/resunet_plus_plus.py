"""ResUNet++ (Jha et al. 2019): residual blocks with squeeze-and-excitation, atrous spatial
pyramid pooling at the bridge and the output, and attention on the decoder's input."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional

from ..settings import ModelSpec
from .blocks import (
    ConvBlock,
    PaddedNetwork,
    ResidualBlock,
    SqueezeExcitation,
    conv_class,
    level_kernel,
    norm_layer,
    pooling_factor,
    total_factor,
    transposed_class,
)
from .registry import register_architecture
from .unet import encoder_decoder_keywords


class SpatialPyramid(nn.Module):
    """Atrous spatial pyramid pooling: three dilated 3x3 convs (rates 6, 12, 18), fused by a
    1x1 conv."""

    def __init__(self, ndim: int, c_in: int, c_out: int, norm: str, rates=(6, 12, 18)):
        super().__init__()
        conv = conv_class(ndim)
        self.branches = nn.ModuleList(
            nn.Sequential(
                conv(c_in, c_out, 3, padding=rate, dilation=rate),
                nn.ReLU(),
                norm_layer(norm, c_out, ndim),
            )
            for rate in rates
        )
        self.fuse = conv(len(rates) * c_out, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fuse(torch.cat([branch(x) for branch in self.branches], dim=1))


class DecoderAttention(nn.Module):
    """ResUNet++'s attention: the decoder's features scaled by a map from them and the (pooled)
    encoder features of the level above."""

    def __init__(
        self, ndim: int, c_encoder: int, c_decoder: int, norm: str, factor: tuple[int, ...]
    ):
        super().__init__()
        conv = conv_class(ndim)
        self.factor = factor
        self.encoder = nn.Sequential(
            norm_layer(norm, c_encoder, ndim), nn.ReLU(), conv(c_encoder, c_decoder, 3, padding=1)
        )
        self.decoder = nn.Sequential(
            norm_layer(norm, c_decoder, ndim), nn.ReLU(), conv(c_decoder, c_decoder, 3, padding=1)
        )
        self.attention = nn.Sequential(
            norm_layer(norm, c_decoder, ndim), nn.ReLU(), conv(c_decoder, 1, 1)
        )

    def forward(self, encoder: torch.Tensor, decoder: torch.Tensor) -> torch.Tensor:
        pool = functional.max_pool2d if encoder.ndim == 4 else functional.max_pool3d
        mixed = pool(self.encoder(encoder), self.factor) + self.decoder(decoder)
        return self.attention(mixed) * decoder


class ResUNetPlusPlus(PaddedNetwork):
    """ResUNet++ as BiaPy 3.7.1 builds it from the same MODEL keys (the same parameters).

    With L feature maps: a first residual block and L - 2 pooled ones (pooled by ``z_down[1:]``;
    ``z_down[0]`` is not used, as in BiaPy), the last level's block feeding an ASPP bridge to
    the last feature map, L - 2 attention + upsampling + residual decoder levels, an ASPP to the
    first feature map and the head. Dropout is taken per level.
    """

    def __init__(
        self,
        ndim: int,
        in_channels: int,
        out_channels: int,
        *,
        feature_maps: Sequence[int],
        norm: str,
        activation: str,
        dropout: Sequence[float] = (),
        upsample: str = "convtranspose",
        kernel: int = 3,
        z_down: Sequence[int] = (),
        yx_down: Sequence[int] = (),
        larger_io: bool = False,
        isotropy: Sequence[bool] = (),
        conv_layers: Sequence[int] = (),
        order: str = "conv_norm_act",
    ):
        super().__init__()
        levels = len(feature_maps)
        if levels < 3:
            raise ValueError("ResUNet++ needs at least three feature maps")
        dropout = list(dropout) or [0.0] * levels
        z_down = list(z_down) or [2] * (levels - 1)
        yx_down = list(yx_down) or [2] * (levels - 1)
        isotropy = list(isotropy) or [True] * levels
        conv_layers = list(conv_layers) or [2] * levels
        self.factors = [pooling_factor(ndim, z, yx) for z, yx in zip(z_down, yx_down)]
        self.multiple = total_factor(ndim, self.factors[1:])
        common = {"norm": norm, "activation": activation, "order": order}

        def residual(level: int, c_in: int, c_out: int, first: bool = False) -> ResidualBlock:
            shape = level_kernel(kernel, ndim, isotropy[level])
            return ResidualBlock(
                ndim, c_in, c_out, kernel=shape, dropout=dropout[level], convs=conv_layers[level],
                first=first, skip_kernel=shape, skip_norm=norm, **common,
            )  # fmt: skip

        io_kernel = level_kernel(kernel + 2, ndim, isotropy[0])
        self.conv_in = self.conv_out = None
        c_in = in_channels
        if larger_io:
            self.conv_in = ConvBlock(
                ndim, c_in, feature_maps[0], kernel=io_kernel, convs=1, **common
            )
            c_in = feature_maps[0]
        # encoder levels 0 .. L-2; the first unpooled, the next L-2 pooled after their block
        self.encoders = nn.ModuleList([residual(0, c_in, feature_maps[0], first=True)])
        self.squeezes = nn.ModuleList([SqueezeExcitation(feature_maps[0])])
        for level in range(1, levels - 1):
            self.encoders.append(residual(level, feature_maps[level - 1], feature_maps[level]))
            if level < levels - 2:
                self.squeezes.append(SqueezeExcitation(feature_maps[level]))
        self.bridge = SpatialPyramid(ndim, feature_maps[levels - 2], feature_maps[-1], norm)
        self.attentions = nn.ModuleList()
        self.upsamplers = nn.ModuleList()
        self.decoders = nn.ModuleList()
        c_in = feature_maps[-1]
        for level in range(levels - 3, -1, -1):
            factor = self.factors[level + 1]
            self.attentions.append(DecoderAttention(ndim, feature_maps[level], c_in, norm, factor))
            if upsample == "convtranspose":
                self.upsamplers.append(
                    transposed_class(ndim)(c_in, c_in, kernel_size=factor, stride=factor)
                )
            else:
                mode = "bilinear" if ndim == 2 else "trilinear"
                self.upsamplers.append(nn.Upsample(scale_factor=factor, mode=mode))
            self.decoders.append(
                residual(level + 1, c_in + feature_maps[level], feature_maps[level + 1])
            )
            c_in = feature_maps[level + 1]
        self.output_pyramid = SpatialPyramid(ndim, feature_maps[1], feature_maps[0], norm)
        if larger_io:
            self.conv_out = ConvBlock(
                ndim, feature_maps[0], feature_maps[0], kernel=io_kernel, convs=1, **common
            )
        self.head = conv_class(ndim)(feature_maps[0], out_channels, 1)

    def forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        if self.conv_in is not None:
            x = self.conv_in(x)
        pool = functional.max_pool2d if x.ndim == 4 else functional.max_pool3d
        skips = []
        for level, encoder in enumerate(self.encoders):
            x = encoder(x)
            if level < len(self.squeezes):
                x = self.squeezes[level](x)
            if level > 0:
                x = pool(x, self.factors[level])
            skips.append(x)
        x = self.bridge(x)
        for index, (attention, upsampler, decoder) in enumerate(
            zip(self.attentions, self.upsamplers, self.decoders)
        ):
            skip = skips[-index - 2]
            x = upsampler(attention(skip, x))
            x = decoder(torch.cat([x, skip], dim=1))
        x = self.output_pyramid(x)
        if self.conv_out is not None:
            x = self.conv_out(x)
        return self.head(x)


@register_architecture("resunet++")
def build_resunet_plus_plus(spec: ModelSpec) -> nn.Module:
    return ResUNetPlusPlus(
        spec.ndim, spec.in_channels, spec.out_channels, **encoder_decoder_keywords(spec)
    )
