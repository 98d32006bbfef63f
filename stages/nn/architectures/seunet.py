"""SEUNet: the U-Net with squeeze-and-excitation (Hu et al. 2018) after every convolution."""

from __future__ import annotations

from torch import nn

from ..settings import ModelSpec
from .registry import register_architecture
from .unet import unet_from_spec


@register_architecture("seunet")
def build_seunet(spec: ModelSpec) -> nn.Module:
    return unet_from_spec(spec, squeeze_excitation=True)
