"""Augmentations of boxes and stripes of one (C, *S) patch: cutout, cutblur, cutmix,
cutnoise, grid mask and missing sections."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .dice import Dice


def random_box(
    shape: Sequence[int], fraction: float, dice: Dice, whole_z: bool = False
) -> tuple[slice, ...]:
    """A box of ``fraction`` of each side (at least a pixel) at a random place; along Z the
    whole depth when ``whole_z``."""
    box = []
    for axis, side in enumerate(shape):
        if whole_z and len(shape) == 3 and axis == 0:
            box.append(slice(None))
            continue
        size = max(1, min(side, int(round(side * fraction))))
        start = dice.integer(0, side - size)
        box.append(slice(start, start + size))
    return tuple(box)


def cutout(
    patch: torch.Tensor,
    labels: torch.Tensor | None,
    boxes: Sequence[tuple[slice, ...]],
    value: float,
    to_labels: bool,
) -> None:
    """Fill ``boxes`` of the patch with ``value`` (and of its labels with 0), in place."""
    for box in boxes:
        patch[(slice(None), *box)] = value
        if to_labels and labels is not None:
            labels[box] = 0


def cutblur(patch: torch.Tensor, box: tuple[slice, ...], ratio: int, inside: bool) -> torch.Tensor:
    """The box (``inside``) or everything but the box shown at 1/``ratio`` of the resolution
    in Y-X: averaged down, then blown up by nearest neighbour."""
    shape = patch.shape
    planes = patch.reshape(1, -1, shape[-2], shape[-1])
    if inside:
        region = planes[(slice(None), slice(None), *box[-2:])]
        low = F.interpolate(
            region,
            size=[max(1, s // ratio) for s in region.shape[-2:]],
            mode="bilinear",
            antialias=True,
        )
        out = planes.clone()
        out[(slice(None), slice(None), *box[-2:])] = F.interpolate(
            low, size=list(region.shape[-2:]), mode="nearest"
        )
        return out.reshape(shape)
    low = F.interpolate(
        planes, size=[max(1, s // ratio) for s in shape[-2:]], mode="bilinear", antialias=True
    )
    out = F.interpolate(low, size=list(shape[-2:]), mode="nearest")
    out[(slice(None), slice(None), *box[-2:])] = planes[(slice(None), slice(None), *box[-2:])]
    return out.reshape(shape)


def cutmix(
    patch: torch.Tensor,
    labels: torch.Tensor | None,
    classes: torch.Tensor | None,
    donor: tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None],
    target_box: tuple[slice, ...],
    donor_box: tuple[slice, ...],
) -> None:
    """Paste the donor's box into ``target_box`` of the patch, in place; the donor's instance
    ids are raised above the patch's so that no two objects share an id."""
    donor_patch, donor_labels, donor_classes = donor
    patch[(slice(None), *target_box)] = donor_patch[(slice(None), *donor_box)]
    if labels is not None and donor_labels is not None:
        pasted = donor_labels[donor_box]
        labels[target_box] = torch.where(pasted > 0, pasted + labels.max(), 0)
    if classes is not None and donor_classes is not None:
        classes[target_box] = donor_classes[donor_box]


def cutnoise(
    patch: torch.Tensor, box: tuple[slice, ...], scale: float, generator: torch.Generator
) -> None:
    """Add Gaussian noise of ``scale`` times the patch's maximum to a box, in place."""
    region = patch[(slice(None), *box)]
    noise = torch.randn(region.shape[1:], generator=generator, device=patch.device)
    patch[(slice(None), *box)] = region + noise * scale * patch.max()


def grid_mask(
    shape: Sequence[int], period: int, ratio: float, angle: float, start: tuple[int, int], device
) -> torch.Tensor:
    """(Y, X) bool: the stripes of ``ceil(period * ratio)`` pixels, every ``period`` pixels along
    both axes of a grid turned by ``angle`` degrees (the squares between them are False)."""
    height, width = shape[-2:]
    ys = torch.arange(height, device=device, dtype=torch.float32) - (height - 1) / 2
    xs = torch.arange(width, device=device, dtype=torch.float32) - (width - 1) / 2
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    theta = math.radians(angle)
    u = y * math.cos(theta) - x * math.sin(theta)
    v = y * math.sin(theta) + x * math.cos(theta)
    stripe = math.ceil(period * ratio)
    return (torch.remainder(u + start[0], period) < stripe) | (
        torch.remainder(v + start[1], period) < stripe
    )


def missing_line(shape: tuple[int, int], half_width: int, dice: Dice, device) -> torch.Tensor:
    """(Y, X) bool: a band ``half_width`` pixels each side of a random line from the top side to
    the bottom one, or from the left side to the right one."""
    height, width = shape
    if dice.chance(0.5):
        start = (0.0, float(dice.integer(1, max(1, width - 2))))
        end = (float(height - 1), float(dice.integer(1, max(1, width - 2))))
    else:
        start = (float(dice.integer(1, max(1, height - 2))), 0.0)
        end = (float(dice.integer(1, max(1, height - 2))), float(width - 1))
    y = torch.arange(height, device=device, dtype=torch.float32)[:, None]
    x = torch.arange(width, device=device, dtype=torch.float32)[None, :]
    dy, dx = end[0] - start[0], end[1] - start[1]
    length = max(math.hypot(dy, dx), 1e-6)
    distance = ((y - start[0]) * dx - (x - start[1]) * dy).abs() / length
    return distance <= half_width


def missing_sections(
    patch: torch.Tensor, probability: float, half_widths: tuple[int, int], dice: Dice
) -> None:
    """In place: sections (the Z slices of each channel in 3D, each channel in 2D) lose a band
    across them, filled with the section's mean; a hit section's next two are spared."""
    sections = patch.reshape(-1, *patch.shape[-2:])
    if patch.ndim == 4:
        runs = [range(c * patch.shape[1], (c + 1) * patch.shape[1]) for c in range(patch.shape[0])]
    else:
        runs = [range(len(sections))]
    half_width = dice.integer(*half_widths)
    for run in runs:
        index = run.start
        while index < run.stop:
            if dice.chance(probability):
                band = missing_line(tuple(sections.shape[-2:]), half_width, dice, patch.device)
                section = sections[index]
                section[band] = section.mean()
                index += 2
            index += 1
