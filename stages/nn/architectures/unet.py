"""The U-Net and its family (residual, squeeze-excitation and attention-gated variants): one
encoder-decoder whose blocks each variant chooses."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional

from ..settings import ModelSpec
from .blocks import (
    AttentionGate,
    ConvBlock,
    PaddedNetwork,
    ResidualBlock,
    activation_layer,
    conv_class,
    level_kernel,
    norm_layer,
    pooling_factor,
    total_factor,
    transposed_class,
)
from .registry import register_architecture


class UNet(PaddedNetwork):
    """U-Net over (N, C, [Z,] Y, X), built as BiaPy 3.7.1 builds its U-Net family from the same
    MODEL keys (the same parameters).

    Each level is a conv block (``residual``: a residual block), pooled by ``yx_down`` (2) in Y
    and X and by ``z_down`` (2) in Z; the decoder upsamples (transposed conv, or
    bilinear/trilinear resampling and a 1x1 conv, then norm and activation; residual blocks
    keep the channels through a bare upsampling), concatenates the skip connection
    (``attention``: gated first) and applies the level's block. ``squeeze_excitation`` adds
    channel attention to every block, ``extra_conv`` one conv before each residual block
    (ResUNet SE). ``larger_io``: one conv of kernel + 2 at
    the input and the output (LARGER_IO); ``isotropy``: a cubic kernel per level or, in 3D, a
    flat (1, k, k) one (ISOTROPY); ``conv_layers``: convolutions per block (CONV_LAYERS).
    ``legacy_decoder`` rebuilds the models segpipe wrote before BiaPy's layout (no norm or
    activation after upsampling, nearest resampling); ``skip_first`` those written before
    2026-12-04, whose decoders concatenate the skip connection before the upsampled features
    (BiaPy's order is the upsampled features first).
    """

    def __init__(
        self,
        ndim: int,
        in_channels: int,
        out_channels: int,
        *,
        feature_maps: Sequence[int] = (16, 32, 64, 128, 256),
        norm: str = "in",
        activation: str = "elu",
        dropout: Sequence[float] = (),
        upsample: str = "convtranspose",
        kernel: int = 3,
        z_down: Sequence[int] = (),
        yx_down: Sequence[int] = (),
        legacy_decoder: bool = False,
        larger_io: bool = False,
        isotropy: Sequence[bool] = (),
        conv_layers: Sequence[int] = (),
        order: str = "conv_norm_act",
        residual: bool = False,
        squeeze_excitation: bool = False,
        attention: bool = False,
        extra_conv: bool = False,
        skip_first: bool = False,
    ):
        super().__init__()
        if ndim not in (2, 3):
            raise ValueError(f"ndim must be 2 or 3, got {ndim}")
        self.ndim = ndim
        self.skip_first = skip_first
        levels = len(feature_maps)
        dropout = list(dropout) or [0.0] * levels
        z_down = list(z_down) or [2] * (levels - 1)
        yx_down = list(yx_down) or [2] * (levels - 1)
        isotropy = list(isotropy) or [True] * levels
        conv_layers = list(conv_layers) or [2] * levels
        self.factors = [pooling_factor(ndim, z, yx) for z, yx in zip(z_down, yx_down)]
        self.multiple = total_factor(ndim, self.factors)
        common = {"norm": norm, "activation": activation, "order": order}

        def block(level: int, c_in: int, c_out: int, first: bool = False) -> nn.Module:
            shape = {
                "kernel": level_kernel(kernel, ndim, isotropy[level]),
                "dropout": dropout[level],
                "convs": conv_layers[level],
                "squeeze_excitation": squeeze_excitation,
                **common,
            }
            if residual:
                return ResidualBlock(ndim, c_in, c_out, first=first, extra_conv=extra_conv, **shape)
            return ConvBlock(ndim, c_in, c_out, **shape)

        io_kernel = level_kernel(kernel + 2, ndim, isotropy[0])
        self.conv_in = self.conv_out = None
        c_in = in_channels
        if larger_io:
            self.conv_in = ConvBlock(
                ndim, c_in, feature_maps[0], kernel=io_kernel, convs=1, **common
            )
            c_in = feature_maps[0]
        self.encoders = nn.ModuleList()
        for level, fm in enumerate(feature_maps):
            self.encoders.append(block(level, c_in, fm, first=level == 0))
            c_in = fm
        self.upsamplers = nn.ModuleList()
        self.decoders = nn.ModuleList()
        self.gates = nn.ModuleList() if attention else None
        resampling = "nearest" if legacy_decoder else ("bilinear" if ndim == 2 else "trilinear")
        for level in range(levels - 2, -1, -1):
            factor = self.factors[level]
            c_up = c_in if residual else feature_maps[level]  # residual: upsampling keeps channels
            layers: list[nn.Module] = []
            if upsample == "convtranspose":
                layers.append(transposed_class(ndim)(c_in, c_up, kernel_size=factor, stride=factor))
            else:
                layers.append(nn.Upsample(scale_factor=factor, mode=resampling))
                if not residual:
                    layers.append(conv_class(ndim)(c_in, c_up, 1))
            if not legacy_decoder and not residual:
                layers += [norm_layer(norm, c_up, ndim), activation_layer(activation)]
            self.upsamplers.append(layers[0] if len(layers) == 1 else nn.Sequential(*layers))
            if self.gates is not None:
                fm = feature_maps[level]
                self.gates.append(AttentionGate(ndim, c_up, fm, fm // 2, norm))
            self.decoders.append(block(level, feature_maps[level] + c_up, feature_maps[level]))
            c_in = feature_maps[level]
        if larger_io:
            self.conv_out = ConvBlock(
                ndim, feature_maps[0], feature_maps[0], kernel=io_kernel, convs=1, **common
            )
        self.head = conv_class(ndim)(feature_maps[0], out_channels, 1)

    def forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        if self.conv_in is not None:
            x = self.conv_in(x)
        skips = []
        pool = functional.max_pool2d if self.ndim == 2 else functional.max_pool3d
        for level, encoder in enumerate(self.encoders):
            x = encoder(x)
            if level < len(self.encoders) - 1:
                skips.append(x)
                x = pool(x, self.factors[level])
        for index, (upsampler, decoder) in enumerate(zip(self.upsamplers, self.decoders)):
            x = upsampler(x)
            skip = skips.pop()
            if self.gates is not None:
                skip = self.gates[index](x, skip)
            x = decoder(torch.cat([skip, x] if self.skip_first else [x, skip], dim=1))
        if self.conv_out is not None:
            x = self.conv_out(x)
        return self.head(x)


def encoder_decoder_keywords(spec: ModelSpec) -> dict:
    """The MODEL keys every convolutional encoder-decoder of the family reads from a spec."""
    return {
        "feature_maps": list(spec.feature_maps),
        "norm": spec.norm,
        "activation": spec.activation,
        "dropout": list(spec.dropout),
        "upsample": spec.upsample,
        "kernel": spec.kernel,
        "z_down": list(spec.z_down),
        "yx_down": list(spec.yx_down),
        "larger_io": spec.larger_io,
        "isotropy": list(spec.isotropy),
        "conv_layers": list(spec.conv_layers),
        "order": spec.conv_block_order,
    }


def unet_from_spec(spec: ModelSpec, **variant: bool) -> UNet:
    """A member of the U-Net family from a spec; ``variant`` chooses its blocks."""
    return UNet(
        spec.ndim,
        spec.in_channels,
        spec.out_channels,
        legacy_decoder=spec.layout == 1,
        skip_first=spec.layout <= 2,
        **encoder_decoder_keywords(spec),
        **variant,
    )


@register_architecture("unet")
def build_unet(spec: ModelSpec) -> nn.Module:
    return unet_from_spec(spec)
