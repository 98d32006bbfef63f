"""Separable Gaussian smoothing and sliding medians of batched tensors, along chosen axes."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def gaussian_kernel(sigma: float, device: torch.device) -> torch.Tensor:
    """A normalised 1D Gaussian reaching 3 sigma each side (at least one pixel)."""
    radius = max(1, int(math.ceil(3 * sigma)))
    offsets = torch.arange(-radius, radius + 1, device=device, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (offsets / max(sigma, 1e-6)) ** 2)
    return kernel / kernel.sum()


def convolve_along(array: torch.Tensor, kernel: torch.Tensor, axis: int) -> torch.Tensor:
    """Convolve every line of ``array`` along ``axis`` with a 1D odd ``kernel`` (edges mirrored).

    A side shorter than the kernel's radius is padded by replication instead (mirroring needs
    the side to be longer than the padding).
    """
    moved = array.movedim(axis, -1)
    shape = moved.shape
    lines = moved.reshape(-1, 1, shape[-1])
    radius = kernel.numel() // 2
    mode = "reflect" if shape[-1] > radius else "replicate"
    lines = F.conv1d(F.pad(lines, (radius, radius), mode=mode), kernel.view(1, 1, -1))
    return lines.reshape(shape).movedim(-1, axis)


def gaussian_blur(array: torch.Tensor, sigma: float, axes: tuple[int, ...]) -> torch.Tensor:
    """``array`` smoothed by a Gaussian of ``sigma`` pixels along each of ``axes``."""
    kernel = gaussian_kernel(sigma, array.device)
    for axis in axes:
        array = convolve_along(array, kernel, axis)
    return array


def median_blur_2d(images: torch.Tensor, size: int) -> torch.Tensor:
    """The median of each (size, size) window of the last two axes (edges mirrored)."""
    radius = size // 2
    shape = images.shape
    planes = images.reshape(-1, 1, shape[-2], shape[-1])
    mode = "reflect" if min(shape[-2:]) > radius else "replicate"
    padded = F.pad(planes, (radius, radius, radius, radius), mode=mode)
    # windows as a strided view (no copy until the median), faster than F.unfold
    windows = padded.unfold(2, size, 1).unfold(3, size, 1)
    return windows.reshape(*planes.shape, size * size).median(dim=-1).values.reshape(shape)
