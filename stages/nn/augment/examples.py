"""Augmented training patches written to a folder to look at (BiaPy's AUGMENTOR.AUG_SAMPLES)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ...io import atomic_directory, write_labels, write_tiff
from ..data import PatchSampler, Sample
from .batch import augment_batch
from .settings import AugmentSettings

#: pixels between the lines of the grid drawn on the examples
GRID_SPACING = 16


def draw_grid(images: np.ndarray, spacing: int = GRID_SPACING) -> np.ndarray:
    """(B, C, *S) images with every ``spacing``-th Y and X line at the batch's maximum."""
    out = images.copy()
    bright = float(images.max()) if images.size else 1.0
    out[..., ::spacing, :] = bright
    out[..., :, ::spacing] = bright
    return out


def write_examples(
    folder: str | Path,
    samples: Sequence[Sample],
    patch: Sequence[int],
    settings: AugmentSettings,
    codes: Sequence[str],
    seed: int,
) -> int:
    """Write ``settings.samples`` random training patches, each before and after augmentation
    (image ``<n>_image.tif``, ``<n>_augmented.tif``; labels, when the samples keep them,
    ``<n>_labels.tif``, ``<n>_augmented_labels.tif``) to ``folder``, replacing it.

    Returns how many were written. Draws from its own generator: training is not changed.
    """
    count = settings.samples
    if count <= 0 or not samples:
        return 0
    rng = np.random.default_rng([seed, 7])
    sampler = PatchSampler(samples, patch, [[] for _ in samples], rng)
    batch = sampler.batch(count, settings, codes)
    images = draw_grid(batch.images) if settings.samples_grid else batch.images

    def ids(array: np.ndarray | None) -> torch.Tensor | None:
        return None if array is None else torch.from_numpy(array.astype(np.int64))

    augmented = augment_batch(
        torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)),
        ids(batch.labels),
        ids(batch.classes),
        settings,
        int(rng.integers(2**62)),
    )
    with atomic_directory(folder) as temporary:
        for n in range(count):
            write_tiff(temporary / f"{n}_image.tif", _channel_last(images[n]))
            write_tiff(temporary / f"{n}_augmented.tif", _channel_last(augmented.image[n].numpy()))
            if batch.labels is not None:
                write_labels(temporary / f"{n}_labels.tif", batch.labels[n])
                write_labels(temporary / f"{n}_augmented_labels.tif", augmented.labels[n].numpy())
    return count


def _channel_last(image: np.ndarray) -> np.ndarray:
    """(C, *S) as (*S) for one channel, else (*S, C), as raw images are read."""
    return image[0] if image.shape[0] == 1 else np.moveaxis(image, 0, -1)
