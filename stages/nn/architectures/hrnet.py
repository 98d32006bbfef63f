"""HRNet (Wang et al. 2020) as BiaPy 3.7.1 builds it under `hrnet`: a strided stem, a
bottleneck stage, then stages of parallel branches at halving resolutions, exchanging
features after every module; the branches are upsampled, concatenated and classified, and
the logits upsampled to the input size.

Shaped by MODEL.HRNET: VARIANT W18/W32/W48/W64 (BiaPy's three stages of 1, 4 and 3 modules
with 2, 3 and 4 branches of four basic blocks, widths W x 1, 2, 4, 8; Z not pooled) or
``custom`` with NUM_MODULES, NUM_BRANCHES, NUM_BLOCKS, NUM_CHANNELS, BLOCK_TYPE, Z_DOWN and
YX_DOWN; HEAD_TYPE FCN (a 1x1 conv) or a context head (ASPP, PSP, OCR: :mod:`.heads`).
NORMALIZATION and ACTIVATION apply.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional

from ..settings import ModelSpec
from .blocks import PaddedNetwork, activation_layer, conv_class, norm_layer
from .heads import context_head
from .registry import register_architecture

STEM_CHANNELS = 64


def conv_norm(
    ndim: int, c_in: int, c_out: int, kernel: int, norm: str, stride: Sequence[int] | int = 1
) -> nn.Sequential:
    """A bias-free conv (padding to keep the size at stride 1) and its norm."""
    conv = conv_class(ndim)(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False)
    return nn.Sequential(conv, norm_layer(norm, c_out, ndim))


def inner_activation(activation: str, inside: bool) -> nn.Module:
    """The activation between a block's convolutions: none in BiaPy's HRNet blocks (built
    without one; models of layout 3), MODEL.ACTIVATION in segpipe's earlier ones."""
    return activation_layer(activation) if inside else nn.Identity()


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(
        self, ndim: int, c_in: int, width: int, norm: str, activation: str, inside: bool = True
    ):
        super().__init__()
        self.body = nn.Sequential(
            conv_norm(ndim, c_in, width, 3, norm),
            inner_activation(activation, inside),
            conv_norm(ndim, width, width, 3, norm),
        )
        self.shortcut = conv_norm(ndim, c_in, width, 1, norm) if c_in != width else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return functional.relu(self.body(x) + self.shortcut(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(
        self, ndim: int, c_in: int, width: int, norm: str, activation: str, inside: bool = True
    ):
        super().__init__()
        c_out = width * self.expansion
        self.body = nn.Sequential(
            conv_norm(ndim, c_in, width, 1, norm),
            inner_activation(activation, inside),
            conv_norm(ndim, width, width, 3, norm),
            inner_activation(activation, inside),
            conv_norm(ndim, width, c_out, 1, norm),
        )
        self.shortcut = conv_norm(ndim, c_in, c_out, 1, norm) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return functional.relu(self.body(x) + self.shortcut(x))


BLOCKS = {"BASIC": BasicBlock, "BOTTLENECK": Bottleneck}


def resize(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    mode = "bilinear" if x.ndim == 4 else "trilinear"
    return functional.interpolate(x, size=tuple(size), mode=mode, align_corners=True)


class ParallelModule(nn.Module):
    """One HRNet module: every branch through its blocks, then each branch's output the sum of
    all branches brought to its resolution and width (strided convs down, 1x1 convs and
    interpolation up)."""

    def __init__(
        self,
        ndim: int,
        channels: list[int],
        block: type[BasicBlock | Bottleneck],
        blocks: Sequence[int],
        widths: Sequence[int],
        strides: Sequence[tuple[int, ...]],
        norm: str,
        activation: str,
        inside: bool = True,
    ):
        super().__init__()
        self.branches = nn.ModuleList()
        for index, (count, width) in enumerate(zip(blocks, widths)):
            layers = []
            for _ in range(count):
                layers.append(block(ndim, channels[index], width, norm, activation, inside))
                channels[index] = width * block.expansion
            self.branches.append(nn.Sequential(*layers))
        self.channels = list(channels)
        self.fuse = nn.ModuleList()
        for target in range(len(channels)):
            row = nn.ModuleList()
            for source in range(len(channels)):
                if source == target:
                    row.append(nn.Identity())
                elif source > target:
                    row.append(conv_norm(ndim, channels[source], channels[target], 1, norm))
                else:
                    row.append(
                        self._downsampling(
                            ndim, channels[source], channels[target], strides[source],
                            strides[target], norm, activation,
                        )
                    )  # fmt: skip
            self.fuse.append(row)
        self.activation = activation_layer(activation)

    @staticmethod
    def _downsampling(ndim, c_in, c_out, stride_from, stride_to, norm, activation) -> nn.Module:
        """Strided 3x3 convs (by 2 where the scales still differ) from one scale to another."""
        relative = [t // f for t, f in zip(stride_to, stride_from)]
        steps = max(max(relative).bit_length() - 1, 1)
        layers: list[nn.Module] = []
        for step in range(steps):
            stride = tuple(2 if r > 1 else 1 for r in relative)
            relative = [r // 2 if r > 1 else r for r in relative]
            last = step == steps - 1
            layers.append(conv_norm(ndim, c_in, c_out if last else c_in, 3, norm, stride))
            if not last:
                layers.append(activation_layer(activation))
        return nn.Sequential(*layers)

    def forward(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        branches = [branch(x) for branch, x in zip(self.branches, inputs)]
        outputs = []
        for target, row in enumerate(self.fuse):
            size = branches[target].shape[2:]
            total = branches[target]
            for source, layer in enumerate(row):
                if source == target:
                    continue
                moved = layer(branches[source])
                total = total + (resize(moved, size) if source > target else moved)
            outputs.append(self.activation(total))
        return outputs


class HRNet(PaddedNetwork):
    def __init__(
        self,
        ndim: int,
        in_channels: int,
        out_channels: int,
        *,
        modules: Sequence[int],
        branches: Sequence[int],
        blocks: Sequence[Sequence[int]],
        widths: Sequence[Sequence[int]],
        block_type: str = "BASIC",
        z_down: Sequence[int] = (),
        yx_down: Sequence[int] = (),
        norm: str = "bn",
        activation: str = "relu",
        head: str = "FCN",
        block_activations: bool = True,
    ):
        super().__init__()
        stages = len(modules)
        z_down = list(z_down) or [2] * stages
        yx_down = list(yx_down) or [2] * stages
        factors = [(yx, yx) if ndim == 2 else (z, yx, yx) for z, yx in zip(z_down, yx_down)]
        stem = factors[0]
        self.stem = nn.Sequential(
            conv_norm(ndim, in_channels, STEM_CHANNELS, 3, norm, stem),
            conv_norm(ndim, STEM_CHANNELS, STEM_CHANNELS, 3, norm, stem),
            activation_layer(activation),
        )
        layer = []
        c_in = STEM_CHANNELS
        for _ in range(4):
            layer.append(Bottleneck(ndim, c_in, STEM_CHANNELS, norm, activation, block_activations))
            c_in = STEM_CHANNELS * Bottleneck.expansion
        self.layer1 = nn.Sequential(*layer)
        channels = [c_in]
        strides = [tuple(s * s for s in stem)]
        self.transitions = nn.ModuleList()
        self.stages = nn.ModuleList()
        block = BLOCKS[block_type]
        for stage in range(stages):
            wanted = [w * block.expansion for w in widths[stage]]
            transition = nn.ModuleList()
            for index, c_out in enumerate(wanted):
                if index < len(channels):
                    transition.append(
                        nn.Identity()
                        if c_out == channels[index]
                        else nn.Sequential(
                            conv_norm(ndim, channels[index], c_out, 3, norm),
                            activation_layer(activation),
                        )
                    )
                else:
                    # a new, coarser branch from the coarsest one so far
                    steps = []
                    for step in range(index + 1 - len(channels)):
                        last = step == index - len(channels)
                        c_step = c_out if last else channels[-1]
                        steps += [
                            conv_norm(ndim, channels[-1], c_step, 3, norm, factors[stage]),
                            activation_layer(activation),
                        ]
                    transition.append(nn.Sequential(*steps))
                    strides.append(tuple(a * b for a, b in zip(strides[-1], factors[stage])))
            self.transitions.append(transition)
            channels = list(wanted)
            stage_modules = []
            for _ in range(modules[stage]):
                module = ParallelModule(
                    ndim, channels, block, blocks[stage][: branches[stage]],
                    widths[stage][: branches[stage]], strides, norm, activation,
                    block_activations,
                )  # fmt: skip
                stage_modules.append(module)
                channels = module.channels
            self.stages.append(nn.Sequential(*stage_modules))
        self.multiple = strides[-1]
        self.head = context_head(head, ndim, sum(channels), out_channels, norm) or conv_class(ndim)(
            sum(channels), out_channels, 1
        )

    def forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[2:]
        features = [self.layer1(self.stem(x))]
        for transition, stage in zip(self.transitions, self.stages):
            inputs = [
                layer(features[min(index, len(features) - 1)])
                for index, layer in enumerate(transition)
            ]
            features = stage(inputs)
        finest = features[0].shape[2:]
        merged = torch.cat([features[0]] + [resize(f, finest) for f in features[1:]], dim=1)
        mode = "bilinear" if x.ndim == 4 else "trilinear"
        return functional.interpolate(self.head(merged), size=tuple(size), mode=mode)


#: BiaPy's HRNet variants: stages of (modules, branches), four blocks per branch
VARIANT_STAGES = ((1, 2), (4, 3), (3, 4))


def hrnet_shape(spec: ModelSpec) -> dict:
    """The HRNet keywords of a spec: a named variant's, or the custom keys."""
    if spec.hrnet_variant != "custom":
        base = int(spec.hrnet_variant.lstrip("Ww"))
        return {
            "modules": [m for m, _ in VARIANT_STAGES],
            "branches": [b for _, b in VARIANT_STAGES],
            "blocks": [[4] * b for _, b in VARIANT_STAGES],
            "widths": [[base * 2**i for i in range(b)] for _, b in VARIANT_STAGES],
            "block_type": "BASIC",
            "z_down": [1] * 3,
            "yx_down": [2] * 3,
        }
    return {
        "modules": spec.hrnet_modules,
        "branches": spec.hrnet_branches,
        "blocks": spec.hrnet_blocks,
        "widths": spec.hrnet_channels,
        "block_type": spec.hrnet_block_type,
        "z_down": spec.hrnet_z_down,
        "yx_down": spec.hrnet_yx_down,
    }


@register_architecture("hrnet")
def build_hrnet(spec: ModelSpec) -> nn.Module:
    return HRNet(
        spec.ndim,
        spec.in_channels,
        spec.out_channels,
        norm=spec.norm,
        activation=spec.activation,
        head=spec.hrnet_head,
        # BiaPy's residual blocks have no activation between their convs (layout 3)
        block_activations=spec.layout <= 2,
        **hrnet_shape(spec),
    )
