"""Random draws for augmentation parameters, from one seeded torch generator on the CPU."""

from __future__ import annotations

import torch


class Dice:
    """Scalar draws (cheap on the CPU, no device synchronisation); pixel noise is drawn by the
    augmentations themselves from the device generator."""

    def __init__(self, seed: int):
        self.generator = torch.Generator().manual_seed(seed)

    def uniform(self, low: float, high: float) -> float:
        return float(low + (high - low) * torch.rand((), generator=self.generator))

    def integer(self, low: int, high: int) -> int:
        """A whole number from ``low`` to ``high``, both included."""
        return int(torch.randint(int(low), int(high) + 1, (), generator=self.generator))

    def chance(self, probability: float) -> bool:
        return probability > 0 and float(torch.rand((), generator=self.generator)) < probability

    def rolls(self, probability: float, count: int) -> list[int]:
        """The indices among ``count`` patches that get an augmentation of ``probability``."""
        if probability <= 0:
            return []
        hits = torch.rand(count, generator=self.generator) < probability
        return hits.nonzero().flatten().tolist()

    def permutation(self, count: int) -> list[int]:
        return torch.randperm(count, generator=self.generator).tolist()
