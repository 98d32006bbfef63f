"""Batched inference over the patches of one image, with optional test-time augmentation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .activations import apply_activations
from .data import flip_and_rotate, invert_flip_and_rotate, normalize_image, tta_transforms
from .inference import memory_format
from .patches import PatchGrid, crop_core, iter_patches, pad_for_grid


def predict_cores(
    model: torch.nn.Module,
    meta: dict,
    image: np.ndarray,
    grid: PatchGrid,
    indices: Sequence[int],
    *,
    batch_size: int = 4,
    tta: bool = False,
    device: torch.device | str = "cpu",
    channels_last: bool = False,
) -> np.ndarray:
    """Predict the cores of the patches ``indices`` of a channel-last ``image``.

    The image is normalised with the model's own settings; outputs pass through the
    model's per-channel activations. ``channels_last``: the model's weights are channel-last
    (:func:`~stages.nn.inference.prepare_for_inference`), so the inputs are made so too.
    Returns (len(indices), C, *core) float32.
    """
    codes = meta["channels"]
    if image.shape[-1] != meta["spec"]["in_channels"]:
        raise ValueError(
            f"the image has {image.shape[-1]} channel(s) but the model was trained on "
            f"{meta['spec']['in_channels']}"
        )
    normalized = normalize_image(image, meta["normalization"])
    padded = pad_for_grid(normalized, grid)
    square = grid.patch_size[-1] == grid.patch_size[-2]
    transforms = tta_transforms(len(grid.patch_size), square, codes) if tta else [((), 0)]
    cores = np.empty((len(indices), len(codes)) + grid.core_size, dtype=np.float32)
    batch: list[np.ndarray] = []
    positions: list[int] = []

    layout = memory_format(len(grid.patch_size)) if channels_last else torch.contiguous_format

    def forward(patches: np.ndarray) -> np.ndarray:
        inputs = torch.from_numpy(patches).to(device).contiguous(memory_format=layout)
        with torch.inference_mode():
            return apply_activations(model(inputs), meta["activations"]).cpu().numpy()

    def flush() -> None:
        stacked = np.stack(batch)
        if len(transforms) == 1:
            mean = forward(stacked)
        else:
            shape = (len(batch), len(codes)) + tuple(grid.patch_size)
            total = np.zeros(shape, dtype=np.float64)
            for flips, k in transforms:
                output = forward(np.stack([flip_and_rotate(p, flips, k) for p in stacked]))
                total += np.stack([invert_flip_and_rotate(o, flips, k, codes) for o in output])
            mean = (total / len(transforms)).astype(np.float32)
        for position, prediction in zip(positions, mean):
            cores[position] = crop_core(prediction, grid)
        batch.clear()
        positions.clear()

    for position, (_, patch) in enumerate(iter_patches(padded, grid, indices)):
        batch.append(np.ascontiguousarray(np.moveaxis(patch, -1, 0), dtype=np.float32))
        positions.append(position)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    return cores
