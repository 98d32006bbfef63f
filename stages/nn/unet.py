"""2D and 3D U-Net with one output per channel code."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as functional

_ACTIVATIONS = {
    "elu": nn.ELU,
    "relu": nn.ReLU,
    "leakyrelu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}


def _norm(kind: str, channels: int, ndim: int) -> nn.Module:
    if kind == "bn":
        return (nn.BatchNorm2d if ndim == 2 else nn.BatchNorm3d)(channels)
    if kind == "in":
        return (nn.InstanceNorm2d if ndim == 2 else nn.InstanceNorm3d)(channels, affine=True)
    if kind == "gn":
        return nn.GroupNorm(min(8, channels), channels)
    return nn.Identity()


def _kernel(size: int, ndim: int, isotropic: bool) -> tuple[int, ...]:
    """A cubic kernel, or in 3D a flat (1, k, k) one at a level that is not isotropic."""
    if ndim == 3 and not isotropic:
        return (1, size, size)
    return (size,) * ndim


class ConvBlock(nn.Sequential):
    """``convs`` times conv -> norm -> activation, the dropout after the first (BiaPy's)."""

    def __init__(
        self,
        ndim: int,
        c_in: int,
        c_out: int,
        *,
        kernel: int | tuple[int, ...],
        norm: str,
        activation: str,
        dropout: float = 0.0,
        convs: int = 2,
    ):
        conv = nn.Conv2d if ndim == 2 else nn.Conv3d
        kernel = (kernel,) * ndim if isinstance(kernel, int) else tuple(kernel)
        padding = tuple(k // 2 for k in kernel)
        layers: list[nn.Module] = []
        for index in range(convs):
            layers += [
                conv(c_in if index == 0 else c_out, c_out, kernel, padding=padding),
                _norm(norm, c_out, ndim),
                _ACTIVATIONS[activation](),
            ]
            if index == 0 and dropout > 0:
                layers.append((nn.Dropout2d if ndim == 2 else nn.Dropout3d)(dropout))
        super().__init__(*layers)


class UNet(nn.Module):
    """U-Net over (N, C, [Z,] Y, X); inputs of any size are padded to the pooling multiple and
    cropped back.

    Built as BiaPy 3.7.1 builds its U-Net from the same MODEL keys (the same parameters): a
    norm and an activation after each upsampling (transposed conv, or bilinear/trilinear
    resampling and a 1x1 conv), ``larger_io`` one conv of kernel + 2 at the input and the
    output (LARGER_IO), ``isotropy`` a cubic kernel per level or, in 3D, a flat (1, k, k) one
    (ISOTROPY). ``legacy_decoder`` rebuilds the models segpipe wrote before (no norm or
    activation after upsampling, nearest resampling).
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
        legacy_decoder: bool = False,
        larger_io: bool = False,
        isotropy: Sequence[bool] = (),
    ):
        super().__init__()
        if ndim not in (2, 3):
            raise ValueError(f"ndim must be 2 or 3, got {ndim}")
        self.ndim = ndim
        levels = len(feature_maps)
        dropout = list(dropout) or [0.0] * levels
        z_down = list(z_down) or [2] * (levels - 1)
        isotropy = list(isotropy) or [True] * levels
        self.factors = [(2, 2) if ndim == 2 else (z, 2, 2) for z in z_down]
        transposed = nn.ConvTranspose2d if ndim == 2 else nn.ConvTranspose3d
        conv = nn.Conv2d if ndim == 2 else nn.Conv3d
        block = {"norm": norm, "activation": activation}
        self.conv_in = self.conv_out = None
        c_in = in_channels
        if larger_io:
            self.conv_in = ConvBlock(
                ndim, c_in, feature_maps[0], kernel=_kernel(kernel + 2, ndim, isotropy[0]),
                convs=1, **block,
            )  # fmt: skip
            c_in = feature_maps[0]
        self.encoders = nn.ModuleList()
        for fm, dr, iso in zip(feature_maps, dropout, isotropy):
            self.encoders.append(
                ConvBlock(ndim, c_in, fm, kernel=_kernel(kernel, ndim, iso), dropout=dr, **block)
            )
            c_in = fm
        self.upsamplers = nn.ModuleList()
        self.decoders = nn.ModuleList()
        resampling = "nearest" if legacy_decoder else ("bilinear" if ndim == 2 else "trilinear")
        for level in range(levels - 2, -1, -1):
            factor = self.factors[level]
            if upsample == "convtranspose":
                layers = [
                    transposed(
                        feature_maps[level + 1],
                        feature_maps[level],
                        kernel_size=factor,
                        stride=factor,
                    )
                ]
            else:
                layers = [
                    nn.Upsample(scale_factor=factor, mode=resampling),
                    conv(feature_maps[level + 1], feature_maps[level], 1),
                ]
            if not legacy_decoder:
                layers += [_norm(norm, feature_maps[level], ndim), _ACTIVATIONS[activation]()]
            self.upsamplers.append(layers[0] if len(layers) == 1 else nn.Sequential(*layers))
            self.decoders.append(
                ConvBlock(
                    ndim,
                    2 * feature_maps[level],
                    feature_maps[level],
                    kernel=_kernel(kernel, ndim, isotropy[level]),
                    dropout=dropout[level],
                    **block,
                )
            )
        if larger_io:
            self.conv_out = ConvBlock(
                ndim, feature_maps[0], feature_maps[0],
                kernel=_kernel(kernel + 2, ndim, isotropy[0]), convs=1, **block,
            )  # fmt: skip
        self.head = conv(feature_maps[0], out_channels, 1)
        self.multiple = [1] * ndim
        for factor in self.factors:
            self.multiple = [m * f for m, f in zip(self.multiple, factor)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[2:]
        pad = []
        for s, m in zip(reversed(size), reversed(self.multiple)):
            pad += [0, (-s) % m]
        if any(pad):
            x = functional.pad(x, pad, mode="replicate")
        if self.conv_in is not None:
            x = self.conv_in(x)
        skips = []
        for level, encoder in enumerate(self.encoders):
            x = encoder(x)
            if level < len(self.encoders) - 1:
                skips.append(x)
                pool = functional.max_pool2d if self.ndim == 2 else functional.max_pool3d
                x = pool(x, self.factors[level])
        for upsampler, decoder in zip(self.upsamplers, self.decoders):
            x = upsampler(x)
            x = decoder(torch.cat([skips.pop(), x], dim=1))
        if self.conv_out is not None:
            x = self.conv_out(x)
        x = self.head(x)
        crop = (slice(None), slice(None)) + tuple(slice(0, s) for s in size)
        return x[crop]


def apply_activations(logits: torch.Tensor, activations: Sequence[str]) -> torch.Tensor:
    """Per-channel output activation (sigmoid, tanh, softplus or linear) on (N, C, ...) logits;
    the "softmax" channels (a class head) are one softmax across them."""
    outputs = []
    for index, name in enumerate(activations):
        channel = logits[:, index : index + 1]
        if name == "sigmoid":
            channel = torch.sigmoid(channel)
        elif name == "tanh":
            channel = torch.tanh(channel)
        elif name == "softplus":
            channel = functional.softplus(channel)
        outputs.append(channel)
    softmax = [i for i, name in enumerate(activations) if name == "softmax"]
    if softmax:
        probabilities = torch.softmax(logits[:, softmax], dim=1)
        for position, index in enumerate(softmax):
            outputs[index] = probabilities[:, position : position + 1]
    return torch.cat(outputs, dim=1)
