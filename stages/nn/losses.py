"""Per-channel losses: BCE for binary channels, masked L1 for regression channels."""
from __future__ import annotations

from typing import Sequence

import torch
from torch.nn import functional as functional

from .unet import apply_activations


def channel_losses(logits: torch.Tensor, targets: torch.Tensor, foreground: torch.Tensor, *, kinds: Sequence[str],
                   activations: Sequence[str], masked: Sequence[bool], rebalance: bool = False) -> torch.Tensor:
    """One loss value per channel.

    Binary channels: BCE on logits (numerically stable), optionally with the positive
    class weighted by its rarity in the batch. Regression channels: L1 between the
    activated output and the target, over instance pixels only where ``masked``.
    """
    activated = apply_activations(logits, activations)
    losses = []
    for index, kind in enumerate(kinds):
        target = targets[:, index]
        if kind == "binary":
            weight = None
            if rebalance:
                positive = target.mean().clamp(1e-3, 1 - 1e-3)
                weight = torch.where(target > 0.5, 0.5 / positive, 0.5 / (1 - positive))
            losses.append(functional.binary_cross_entropy_with_logits(logits[:, index], target, weight=weight))
        else:
            error = (activated[:, index] - target).abs()
            if masked[index]:
                mask = foreground.to(error.dtype)
                losses.append((error * mask).sum() / mask.sum().clamp_min(1.0))
            else:
                losses.append(error.mean())
    return torch.stack(losses)
