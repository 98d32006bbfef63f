"""Layers shared by the networks: convolution blocks, residual blocks, squeeze-and-excitation,
attention gates, and the padding that lets any network take inputs of any size."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional

ACTIVATIONS = {
    "elu": nn.ELU,
    "relu": nn.ReLU,
    "leakyrelu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}


def activation_layer(name: str) -> nn.Module:
    return ACTIVATIONS[name]()


def norm_layer(kind: str, channels: int, ndim: int) -> nn.Module:
    """Batch, instance (affine), group or no normalisation of ``channels`` channels."""
    if kind == "bn":
        return (nn.BatchNorm2d if ndim == 2 else nn.BatchNorm3d)(channels)
    if kind == "in":
        return (nn.InstanceNorm2d if ndim == 2 else nn.InstanceNorm3d)(channels, affine=True)
    if kind == "gn":
        return nn.GroupNorm(min(8, channels), channels)
    return nn.Identity()


def conv_class(ndim: int) -> type[nn.Module]:
    return nn.Conv2d if ndim == 2 else nn.Conv3d


def transposed_class(ndim: int) -> type[nn.Module]:
    return nn.ConvTranspose2d if ndim == 2 else nn.ConvTranspose3d


def level_kernel(size: int, ndim: int, isotropic: bool = True) -> tuple[int, ...]:
    """A cubic kernel, or in 3D a flat (1, k, k) one at a level that is not isotropic."""
    if ndim == 3 and not isotropic:
        return (1, size, size)
    return (size,) * ndim


def pooling_factor(ndim: int, z_down: int, yx_down: int = 2) -> tuple[int, ...]:
    return (yx_down, yx_down) if ndim == 2 else (z_down, yx_down, yx_down)


def same_conv(ndim: int, c_in: int, c_out: int, kernel: int | Sequence[int]) -> nn.Module:
    """A convolution that keeps the spatial size (odd kernels)."""
    kernel = (kernel,) * ndim if isinstance(kernel, int) else tuple(kernel)
    return conv_class(ndim)(c_in, c_out, kernel, padding=tuple(k // 2 for k in kernel))


class SqueezeExcitation(nn.Module):
    """Channel attention: each channel scaled by a gate computed from all channels' means."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        # BiaPy's width; at least one unit (BiaPy's has none below 16 channels)
        inner = max(channels // reduction, 1)
        self.excitation = nn.Sequential(
            nn.Linear(channels, inner, bias=False),
            nn.ReLU(),
            nn.Linear(inner, channels, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        means = x.mean(dim=tuple(range(2, x.ndim)))
        gate = self.excitation(means)
        return x * gate.reshape(gate.shape + (1,) * (x.ndim - 2))


#: the layer orders of a conv block (MODEL.CONV_BLOCK_ORDER): post- and pre-activation
CONV_BLOCK_ORDERS = ("conv_norm_act", "norm_act_conv")


class ConvBlock(nn.Sequential):
    """``convs`` times conv -> norm -> activation (-> squeeze-excitation), the dropout after the
    first (BiaPy's layers, so BiaPy's parameters). ``order`` norm_act_conv: each conv's input
    normalised and activated first (pre-activation: the norm over the input's channels)."""

    def __init__(
        self,
        ndim: int,
        c_in: int,
        c_out: int,
        *,
        kernel: int | Sequence[int],
        norm: str,
        activation: str,
        dropout: float = 0.0,
        convs: int = 2,
        squeeze_excitation: bool = False,
        order: str = "conv_norm_act",
    ):
        if order not in CONV_BLOCK_ORDERS:
            raise ValueError(f"conv block order {order!r}: one of {', '.join(CONV_BLOCK_ORDERS)}")
        layers: list[nn.Module] = []
        for index in range(convs):
            c_conv = c_in if index == 0 else c_out
            conv = same_conv(ndim, c_conv, c_out, kernel)
            if order == "norm_act_conv":
                layers += [norm_layer(norm, c_conv, ndim), activation_layer(activation), conv]
            else:
                layers += [conv, norm_layer(norm, c_out, ndim), activation_layer(activation)]
            if index == 0 and dropout > 0:
                layers.append((nn.Dropout2d if ndim == 2 else nn.Dropout3d)(dropout))
            if squeeze_excitation:
                layers.append(SqueezeExcitation(c_out))
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    """A residual block of a Residual U-Net: (norm -> activation ->) conv blocks, the last conv
    bare, plus a 1x1 (or ``skip_kernel``) shortcut.

    ``first``: the network's first block, which gets no pre-activation. ``extra_conv``: one conv
    block before the residual part, whose output is the shortcut (ResUNet SE's form).
    ``order`` norm_act_conv: BiaPy's full pre-activation block, ``convs`` pre-activated convs
    (none bare, the first block's input normalised too).
    """

    def __init__(
        self,
        ndim: int,
        c_in: int,
        c_out: int,
        *,
        kernel: Sequence[int],
        norm: str,
        activation: str,
        dropout: float = 0.0,
        convs: int = 2,
        first: bool = False,
        squeeze_excitation: bool = False,
        extra_conv: bool = False,
        skip_kernel: int | Sequence[int] = 1,
        skip_norm: str = "none",
        order: str = "conv_norm_act",
    ):
        super().__init__()
        block = {"kernel": kernel, "norm": norm, "activation": activation, "dropout": dropout}
        self.pre = None
        if order == "norm_act_conv":
            # full pre-activation: every conv's input normalised, the first block's too
            pre_activated = {**block, "convs": 1, "order": order}
            if extra_conv:
                self.pre = ConvBlock(ndim, c_in, c_out, **pre_activated)
                c_in = c_out
            self.main = nn.Sequential(
                ConvBlock(ndim, c_in, c_out, **pre_activated),
                *(ConvBlock(ndim, c_out, c_out, **pre_activated) for _ in range(convs - 1)),
            )
        else:
            preactivation = (
                [] if first else [norm_layer(norm, c_in, ndim), activation_layer(activation)]
            )
            if extra_conv:
                self.pre = nn.Sequential(
                    *preactivation, ConvBlock(ndim, c_in, c_out, convs=1, **block)
                )
                preactivation, c_in = [], c_out
            main = [*preactivation, ConvBlock(ndim, c_in, c_out, convs=1, **block)]
            main += [ConvBlock(ndim, c_out, c_out, convs=1, **block) for _ in range(convs - 2)]
            if convs >= 2:
                main.append(same_conv(ndim, c_out, c_out, kernel))
            self.main = nn.Sequential(*main)
        if extra_conv:
            self.shortcut: nn.Module = nn.Identity()
        else:
            self.shortcut = nn.Sequential(
                same_conv(ndim, c_in, c_out, skip_kernel), norm_layer(skip_norm, c_out, ndim)
            )
        self.squeeze = SqueezeExcitation(c_out) if squeeze_excitation else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pre is not None:
            x = self.pre(x)
        return self.squeeze(self.main(x) + self.shortcut(x))


class AttentionGate(nn.Module):
    """Attention U-Net's gate: the skip connection scaled by a map computed from it and the
    upsampled decoder features (normalised on the decoder's side only, as BiaPy builds it)."""

    def __init__(self, ndim: int, c_gate: int, c_skip: int, c_inner: int, norm: str):
        super().__init__()
        conv = conv_class(ndim)
        self.gate = nn.Sequential(conv(c_gate, c_inner, 1), norm_layer(norm, c_inner, ndim))
        self.skip = conv(c_skip, c_inner, 1)
        self.psi = nn.Sequential(conv(c_inner, 1, 1), norm_layer(norm, 1, ndim), nn.Sigmoid())

    def forward(self, gate: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return skip * self.psi(functional.relu(self.gate(gate) + self.skip(skip)))


class PaddedNetwork(nn.Module):
    """A network over (N, C, [Z,] Y, X) whose spatial sizes must be multiples of
    ``self.multiple``: inputs of any size are padded (replicating the border) and the outputs
    cropped back. Subclasses set ``multiple`` and implement :meth:`forward_padded`."""

    multiple: tuple[int, ...]

    def forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[2:]
        pad: list[int] = []
        for s, m in zip(reversed(size), reversed(self.multiple)):
            pad += [0, (-s) % m]
        if any(pad):
            x = functional.pad(x, pad, mode="replicate")
        out = self.forward_padded(x)
        return out[(slice(None), slice(None)) + tuple(slice(0, s) for s in size)]


def total_factor(ndim: int, factors: Sequence[Sequence[int]]) -> tuple[int, ...]:
    """The product of per-level pooling factors along each axis."""
    multiple = [1] * ndim
    for factor in factors:
        multiple = [m * f for m, f in zip(multiple, factor)]
    return tuple(multiple)
