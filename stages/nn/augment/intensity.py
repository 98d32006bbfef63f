"""Intensity augmentations of one (C, *S) patch: contrast, noise, blur, dropout, channels.

The images are normalised, so "bright" and "dark" are the patch's own maximum and minimum:
where BiaPy clips to [0, 1] (gamma, Poisson noise, salt and pepper), these work on the
patch rescaled to [0, 1] by its range and map the result back.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .filters import gaussian_blur, median_blur_2d


def _range(patch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    low, high = patch.min(), patch.max()
    return low, torch.clamp(high - low, min=1e-6)


def gamma_contrast(patch: torch.Tensor, gamma: float) -> torch.Tensor:
    low, span = _range(patch)
    return ((patch - low) / span).clamp(0, 1) ** gamma * span + low


def gaussian_noise(
    patch: torch.Tensor,
    mean: float | torch.Tensor,
    variance: float | torch.Tensor,
    generator: torch.Generator,
) -> torch.Tensor:
    noise = torch.randn(patch.shape, generator=generator, device=patch.device)
    spread = torch.as_tensor(variance, dtype=patch.dtype, device=patch.device).clamp(min=0)
    return patch + mean + spread.sqrt() * noise


def poisson_noise(patch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Photon noise: as many photon levels as the patch has distinct values, rounded up to a
    power of two (skimage's random_noise)."""
    low, span = _range(patch)
    levels = 2 ** math.ceil(math.log2(max(2, torch.unique(patch).numel())))
    counts = ((patch - low) / span).clamp(0, 1) * levels
    return torch.poisson(counts, generator=generator) / levels * span + low


def salt_and_pepper(
    patch: torch.Tensor, amount: float, salt: float, generator: torch.Generator
) -> torch.Tensor:
    """``amount`` of the values set to the patch's maximum (a ``salt`` share of them) or
    minimum."""
    hit = torch.rand(patch.shape, generator=generator, device=patch.device)
    is_salt = torch.rand(patch.shape, generator=generator, device=patch.device) < salt
    out = torch.where((hit < amount) & is_salt, patch.max(), patch)
    return torch.where((hit < amount) & ~is_salt, patch.min(), out)


def dropout(patch: torch.Tensor, rate: float, generator: torch.Generator) -> torch.Tensor:
    """Each pixel (all its channels) set to 0 with probability ``rate``."""
    keep = torch.rand(patch.shape[1:], generator=generator, device=patch.device) >= rate
    return patch * keep


def blur(patch: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur over every spatial axis."""
    return gaussian_blur(patch, sigma, axes=tuple(range(1, patch.ndim)))


def median_blur(patch: torch.Tensor, size: int) -> torch.Tensor:
    """Median over (size, size) windows of each Y-X plane (BiaPy's (1, k, k) in 3D)."""
    return median_blur_2d(patch, size)


def motion_kernel(size: int, angle: float, direction: float, device) -> torch.Tensor:
    """A (size, size) line through the centre at ``angle`` degrees, its weights ramping from
    ``direction`` to ``1 - direction`` along it, normalised to sum 1."""
    steps = torch.linspace(-(size // 2), size // 2, size, device=device)
    theta = math.radians(angle)
    rows = (size // 2 + steps * math.cos(theta)).round().long().clamp(0, size - 1)
    cols = (size // 2 + steps * math.sin(theta)).round().long().clamp(0, size - 1)
    weights = torch.linspace(direction, 1 - direction, size, device=device).abs() + 1e-3
    kernel = torch.zeros(size, size, device=device)
    kernel.index_put_((rows, cols), weights, accumulate=True)
    return kernel / kernel.sum()


def motion_blur(patch: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Each Y-X plane convolved with a motion ``kernel`` (edges mirrored)."""
    shape = patch.shape
    planes = patch.reshape(-1, 1, shape[-2], shape[-1])
    radius = kernel.shape[-1] // 2
    mode = "reflect" if min(shape[-2:]) > radius else "replicate"
    padded = F.pad(planes, (radius, radius, radius, radius), mode=mode)
    return F.conv2d(padded, kernel[None, None]).reshape(shape)


def grayscale(patch: torch.Tensor) -> torch.Tensor:
    """Every channel replaced by the mean of the channels."""
    return patch.mean(dim=0, keepdim=True).expand_as(patch).clone()
