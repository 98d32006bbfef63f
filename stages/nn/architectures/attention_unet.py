"""Attention U-Net (Oktay et al. 2018): skip connections gated by the decoder's features."""

from __future__ import annotations

from torch import nn

from ..settings import ModelSpec
from .registry import register_architecture
from .unet import unet_from_spec


@register_architecture("attention_unet")
def build_attention_unet(spec: ModelSpec) -> nn.Module:
    return unet_from_spec(spec, attention=True)
