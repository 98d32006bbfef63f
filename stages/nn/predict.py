"""Batched inference over the patches of one image, with optional test-time augmentation."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from .activations import apply_activations
from .data import flip_and_rotate, invert_flip_and_rotate, tta_transforms
from .inference import memory_format
from .normalization import normalize_image
from .patches import PatchGrid, crop_core, read_patch


def iter_predicted_cores(
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
    normalized: bool = False,
) -> Iterator[tuple[int, np.ndarray]]:
    """(index, (C, *core) float32 core) of the patches ``indices`` of a channel-last ``image``,
    in the order given.

    The image is normalised with the model's own settings (``normalized``: it already is);
    patches are read from it one by one, padded where they leave it. Outputs pass through the
    model's per-channel activations. ``channels_last``: the model's weights are channel-last
    (:func:`~stages.nn.inference.prepare_for_inference`), so the inputs are made so too.
    """
    codes = meta["channels"]
    if image.shape[-1] != meta["spec"]["in_channels"]:
        raise ValueError(
            f"the image has {image.shape[-1]} channel(s) but the model was trained on "
            f"{meta['spec']['in_channels']}"
        )
    if not normalized:
        image = normalize_image(image, meta["normalization"])
    square = grid.patch_size[-1] == grid.patch_size[-2]
    transforms = tta_transforms(len(grid.patch_size), square, codes) if tta else [((), 0)]
    layout = memory_format(len(grid.patch_size)) if channels_last else torch.contiguous_format

    def forward(patches: np.ndarray) -> np.ndarray:
        inputs = torch.from_numpy(patches).to(device).contiguous(memory_format=layout)
        with torch.inference_mode():
            return apply_activations(model(inputs), meta["activations"]).cpu().numpy()

    def predicted(batch: list[np.ndarray]) -> np.ndarray:
        stacked = np.stack(batch)
        if len(transforms) == 1:
            return forward(stacked)
        shape = (len(batch), len(codes)) + tuple(grid.patch_size)
        total = np.zeros(shape, dtype=np.float64)
        for flips, k in transforms:
            output = forward(np.stack([flip_and_rotate(p, flips, k) for p in stacked]))
            total += np.stack([invert_flip_and_rotate(o, flips, k, codes) for o in output])
        return (total / len(transforms)).astype(np.float32)

    for first in range(0, len(indices), batch_size):
        chosen = indices[first : first + batch_size]
        batch = [
            np.ascontiguousarray(np.moveaxis(read_patch(image, grid, i), -1, 0), dtype=np.float32)
            for i in chosen
        ]
        for index, prediction in zip(chosen, predicted(batch)):
            yield int(index), np.ascontiguousarray(crop_core(prediction, grid))


def predict_cores(
    model: torch.nn.Module,
    meta: dict,
    image: np.ndarray,
    grid: PatchGrid,
    indices: Sequence[int],
    **options,
) -> np.ndarray:
    """The (len(indices), C, *core) float32 cores of :func:`iter_predicted_cores`, stacked."""
    cores = np.empty((len(indices), len(meta["channels"])) + grid.core_size, dtype=np.float32)
    for position, (_, core) in enumerate(
        iter_predicted_cores(model, meta, image, grid, indices, **options)
    ):
        cores[position] = core
    return cores
