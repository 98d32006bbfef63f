"""Residual U-Net (Zhang et al. 2018) and ResUNet SE: the U-Net with residual blocks."""

from __future__ import annotations

from torch import nn

from ..settings import ModelSpec
from .registry import register_architecture
from .unet import unet_from_spec


@register_architecture("resunet")
def build_resunet(spec: ModelSpec) -> nn.Module:
    return unet_from_spec(spec, residual=True)


@register_architecture("resunet_se")
def build_resunet_se(spec: ModelSpec) -> nn.Module:
    """Residual blocks with squeeze-and-excitation, each after one plain conv block."""
    return unet_from_spec(spec, residual=True, squeeze_excitation=True, extra_conv=True)
