"""Resampling of batched patches and their labels: affine maps, elastic fields, misalignment.

Images are interpolated linearly, instance ids and class ids by nearest neighbour, so no id
is ever mixed with another. Coordinates are in pixels, axes (Z,) Y, X.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .filters import gaussian_blur

#: BiaPy's padding modes and grid_sample's (wrap is folded into the grid first)
_PADDING = {
    "constant": "zeros",
    "reflect": "reflection",
    "symmetric": "reflection",
    "nearest": "border",
    "wrap": "border",
}


def affine_matrix(
    shape: Sequence[int],
    angle: float = 0.0,
    zoom: float = 1.0,
    zoom_z: float = 1.0,
    shear: float = 0.0,
    shift: Sequence[float] = (0.0, 0.0),
) -> np.ndarray:
    """(d, d + 1) map from output to input pixel coordinates of a patch of ``shape``.

    The content turns by ``angle`` degrees in the Y-X plane about the patch centre, grows by
    ``zoom`` (in Y-X; ``zoom_z`` along Z), leans by ``shear`` degrees along X and moves by
    ``shift`` (dy, dx) pixels.
    """
    ndim = len(shape)
    theta, lean = math.radians(angle), math.radians(shear)
    plane = (
        np.array([[zoom, 0.0], [0.0, zoom]])
        @ np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
        @ np.array([[1.0, 0.0], [math.tan(lean), 1.0]])
    )
    forward = np.eye(ndim)
    forward[-2:, -2:] = plane
    if ndim == 3:
        forward[0, 0] = zoom_z
    centre = (np.asarray(shape, dtype=np.float64) - 1) / 2
    moved = np.zeros(ndim)
    moved[-2:] = shift
    inverse = np.linalg.inv(forward)
    # input = centre + inverse (output - centre - moved)
    return np.concatenate([inverse, (centre - inverse @ (centre + moved))[:, None]], axis=1)


def identity_coordinates(
    shape: Sequence[int], device: torch.device, count: int = 1
) -> torch.Tensor:
    """(count, *shape, d) pixel coordinates of every point of a patch."""
    axes = [torch.arange(s, device=device, dtype=torch.float32) for s in shape]
    grid = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)
    return grid.expand(count, *grid.shape).clone()


def affine_coordinates(matrices: np.ndarray, shape: Sequence[int], device) -> torch.Tensor:
    """(N, *shape, d) input coordinates of each output point under (N, d, d + 1) maps."""
    grid = identity_coordinates(shape, device)[0]
    maps = torch.as_tensor(matrices, dtype=torch.float32, device=device)
    linear, offset = maps[:, :, :-1], maps[:, :, -1]
    coords = torch.einsum("nij,...j->n...i", linear, grid)
    return coords + offset.view(len(maps), *([1] * len(shape)), -1)


def elastic_displacement(
    count: int,
    shape: Sequence[int],
    alphas: Sequence[float],
    sigma: float,
    generator: torch.Generator,
    device: torch.device,
) -> torch.Tensor:
    """(count, *shape, d) smooth random displacements in Y-X (none along Z), ``alpha`` pixels
    times a Gaussian-smoothed uniform noise in [-1, 1], the same for every Z slice."""
    plane = tuple(shape[-2:])
    noise = torch.rand((count, 2, *plane), generator=generator, device=device) * 2 - 1
    field = gaussian_blur(noise, sigma, axes=(-2, -1))
    field = field * torch.as_tensor(alphas, dtype=torch.float32, device=device).view(-1, 1, 1, 1)
    field = field.movedim(1, -1)  # (count, Y, X, 2)
    if len(shape) == 3:
        field = field[:, None].expand(count, shape[0], *plane, 2)
        field = torch.cat([torch.zeros_like(field[..., :1]), field], dim=-1)
    return field


def _normalised(coords: torch.Tensor, shape: Sequence[int], mode: str) -> torch.Tensor:
    """Pixel coordinates as grid_sample's: from -1 to 1 across each side, axes reversed."""
    sizes = torch.as_tensor(shape, dtype=torch.float32, device=coords.device)
    if mode == "wrap":
        coords = torch.remainder(coords + 0.5, sizes) - 0.5
    return ((2 * coords + 1) / sizes - 1).flip(-1)


def warp(
    image: torch.Tensor,
    labels: torch.Tensor | None,
    classes: torch.Tensor | None,
    coords: torch.Tensor,
    mode: str,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Resample (N, C, *S) images (linear) and (N, *S) labels and classes (nearest) at the
    (N, *S, d) input coordinates ``coords``; points outside are filled as ``mode`` says
    (constant: 0, also in the labels)."""
    shape = image.shape[2:]
    grid = _normalised(coords, shape, mode)
    padding = _PADDING[mode]
    out = F.grid_sample(image, grid, mode="bilinear", padding_mode=padding, align_corners=False)
    moved = []
    for ids in (labels, classes):
        if ids is None:
            moved.append(None)
            continue
        # the ids themselves, sampled in float64: exact below 2**53 (every int32 id), and no
        # torch.unique, which would wait for the device
        sampled = F.grid_sample(
            ids[:, None].double(), grid.double(), mode="nearest", padding_mode=padding,
            align_corners=False,
        )  # fmt: skip
        moved.append(sampled[:, 0].round().to(ids.dtype))
    return out, moved[0], moved[1]
