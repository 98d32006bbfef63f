"""HRNet's context heads (MODEL.HRNET.HEAD_TYPE): ASPP, PSP and OCR, in 2D and 3D.

Each is built as BiaPy 3.7.1 builds it (256 context channels), then classified by a 1x1
convolution to the network's output channels: BiaPy returns the 256 context channels
themselves as the prediction, whatever the channels asked for (measured: (1, 256, 64, 64) for
an F,C network), so its instance segmentation cannot train with these heads. OCR, 2D only in
BiaPy, runs in 3D too (its attention is over flattened positions).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

from .blocks import conv_class, norm_layer

#: BiaPy's width of the context the heads compute
CONTEXT_CHANNELS = 256

#: ASPP's dilation rates and PSP's pooled grid sizes (BiaPy's)
ASPP_RATES = (6, 12, 18)
PSP_POOL_SIZES = (1, 2, 3, 6)


class SafeNorm(nn.Module):
    """A norm over values it may hold a single one of per channel (pooled context, one
    object region): left out where it would raise (instance norm of one value per channel,
    batch norm of one value per channel while training); the same parameters as the norm."""

    def __init__(self, kind: str, channels: int, ndim: int):
        super().__init__()
        self.norm = norm_layer(kind, channels, ndim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        per_channel = x[0, 0].numel()
        if isinstance(self.norm, nn.modules.instancenorm._InstanceNorm) and per_channel == 1:
            return x
        if (
            isinstance(self.norm, nn.modules.batchnorm._BatchNorm)
            and self.training
            and per_channel * x.shape[0] == 1
        ):
            return x
        return self.norm(x)


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: parallel dilated 3x3 convs (each -> ReLU -> norm),
    concatenated and mixed by a 1x1 conv."""

    def __init__(self, ndim: int, c_in: int, c_out: int, norm: str, rates=ASPP_RATES):
        super().__init__()
        conv = conv_class(ndim)
        self.branches = nn.ModuleList(
            nn.Sequential(
                conv(c_in, c_out, 3, padding=rate, dilation=rate),
                nn.ReLU(inplace=True),
                norm_layer(norm, c_out, ndim),
            )
            for rate in rates
        )
        self.output = conv(len(rates) * c_out, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(torch.cat([branch(x) for branch in self.branches], dim=1))


def _interpolation(x: torch.Tensor) -> str:
    return "bilinear" if x.ndim == 4 else "trilinear"


class PSP(nn.Module):
    """Pyramid scene parsing: the features average-pooled to grids of each size (1x1 conv ->
    ReLU -> norm), upsampled, concatenated with the features and mixed by a 1x1 conv."""

    def __init__(self, ndim: int, c_in: int, c_out: int, norm: str, pool_sizes=PSP_POOL_SIZES):
        super().__init__()
        conv = conv_class(ndim)
        pool = nn.AdaptiveAvgPool2d if ndim == 2 else nn.AdaptiveAvgPool3d
        self.stages = nn.ModuleList(
            nn.Sequential(
                pool(size),
                conv(c_in, c_out, 1, bias=False),
                nn.ReLU(inplace=True),
                SafeNorm(norm, c_out, ndim),
            )
            for size in pool_sizes
        )
        self.bottleneck = nn.Sequential(
            conv(c_in + len(pool_sizes) * c_out, c_out, 1, bias=False),
            norm_layer(norm, c_out, ndim),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[2:]
        pooled = [
            functional.interpolate(stage(x), size=size, mode=_interpolation(x), align_corners=False)
            for stage in self.stages
        ]
        return self.bottleneck(torch.cat([x, *pooled], dim=1))


def _projection(ndim: int, c_in: int, c_out: int, norm: str) -> nn.Sequential:
    """A bias-free 1x1 conv -> norm -> ReLU."""
    return nn.Sequential(
        conv_class(ndim)(c_in, c_out, 1, bias=False),
        SafeNorm(norm, c_out, ndim),
        nn.ReLU(inplace=True),
    )


class OCR(nn.Module):
    """Object-contextual representations: soft object regions from auxiliary logits (one per
    output channel), each region's feature, and every position attending to the regions."""

    def __init__(self, ndim: int, c_in: int, c_out: int, regions: int, norm: str):
        super().__init__()
        conv = conv_class(ndim)
        self.features = nn.Sequential(
            conv(c_in, c_out, 3, padding=1, bias=False),
            norm_layer(norm, c_out, ndim),
            nn.ReLU(inplace=True),
        )
        self.regions = conv(c_out, regions, 1)
        self.query = _projection(ndim, c_out, c_out, norm)
        self.key = _projection(ndim, c_out, c_out, norm)
        self.value = _projection(ndim, c_out, c_out, norm)
        self.up = _projection(ndim, c_out, c_out, norm)
        self.bottleneck = _projection(ndim, c_out, c_out, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.features(x)
        batch, channels = features.shape[:2]
        spatial = features.shape[2:]
        weights = torch.softmax(self.regions(features).flatten(2), dim=2)  # B x K x N
        # each region's feature as a (K, 1[, 1]) "image", so that the 1x1 convs apply
        context = torch.bmm(features.flatten(2), weights.transpose(1, 2))  # B x C x K
        context = context.reshape(batch, channels, -1, *([1] * (features.ndim - 3)))
        query = self.query(features).flatten(2).transpose(1, 2)  # B x N x C
        key = self.key(context).flatten(2)  # B x C x K
        value = self.value(context).flatten(2).transpose(1, 2)  # B x K x C
        attention = torch.softmax(torch.bmm(query, key) * channels**-0.5, dim=-1)
        attended = torch.bmm(attention, value).transpose(1, 2).reshape(batch, channels, *spatial)
        return self.bottleneck(self.up(attended))


def context_head(kind: str, ndim: int, c_in: int, out_channels: int, norm: str) -> nn.Module | None:
    """The context module of ``kind`` followed by a 1x1 conv to ``out_channels``; None for
    FCN (the network's own 1x1 conv)."""
    if kind == "FCN":
        return None
    width = CONTEXT_CHANNELS
    if kind == "ASPP":
        context: nn.Module = ASPP(ndim, c_in, width, norm)
    elif kind == "PSP":
        context = PSP(ndim, c_in, width, norm)
    elif kind == "OCR":
        context = OCR(ndim, c_in, width, out_channels, norm)
    else:
        raise ValueError(f"unknown HRNet head {kind!r}: FCN, ASPP, PSP or OCR")
    return nn.Sequential(context, conv_class(ndim)(width, out_channels, 1))
