"""Small synthetic label images for unit tests."""

from __future__ import annotations

import numpy as np


def touching_squares(ids: tuple[int, int] = (1, 2)) -> np.ndarray:
    """Two 6x6 squares that touch along one column."""
    labels = np.zeros((12, 16), dtype=np.uint16)
    labels[3:9, 2:8] = ids[0]
    labels[3:9, 8:14] = ids[1]
    return labels


def three_squares() -> np.ndarray:
    """Three 10x10 instances (1, 2 side by side, 3 below 1) in a 30x30 image, apart from each
    other."""
    labels = np.zeros((30, 30), np.int32)
    labels[2:12, 2:12] = 1
    labels[2:12, 14:24] = 2
    labels[16:26, 2:12] = 3
    return labels


def with_huge_ids(labels: np.ndarray) -> tuple[np.ndarray, dict[int, int]]:
    """The same instances with ids near 2**31 (7 apart), and the map from old to new ids."""
    ids = np.unique(labels)
    ids = ids[ids > 0]
    new_ids = (2**31 - 7 * len(ids) + 7 * np.arange(len(ids))).astype(np.uint32)
    table = np.zeros(int(labels.max()) + 1, np.uint32)
    table[ids] = new_ids
    return table[labels], {int(a): int(b) for a, b in zip(ids, new_ids)}


def nucleus_brightness(labels: np.ndarray, image: np.ndarray) -> np.ndarray:
    """The mean intensity of each nucleus, in id order."""
    from scipy import ndimage as ndi

    return np.asarray(ndi.mean(image.astype(np.float64), labels, np.unique(labels)[1:]))


def classes_by_intensity(
    labels: np.ndarray, image: np.ndarray, threshold: float | None = None
) -> np.ndarray:
    """A two-class map of real nuclei: class 2 for those brighter (mean intensity) than
    ``threshold`` (default: the median nucleus), class 1 for the others, 0 on background."""
    ids = np.unique(labels)[1:]
    means = nucleus_brightness(labels, image)
    threshold = np.median(means) if threshold is None else threshold
    table = np.zeros(int(labels.max()) + 1, dtype=np.uint8)
    table[ids] = np.where(means > threshold, 2, 1)
    return table[labels]


def save_as_biapy_checkpoint(network, example, config: dict | None, path, epoch: int = 17) -> None:
    """``network``'s tensors saved as BiaPy 3.7.1 saves a checkpoint (state dict, optimizer,
    epoch, config as a plain dict, version): in the order its layers are called, under names
    of their own (BiaPy is not installed in CI; its real names and orders are checked by
    benchmarks/check_biapy_import.py)."""
    import torch

    from stages.nn.foreign_weights import call_order

    state = network.state_dict()
    weights = {f"layer{i:04d}.{key.rpartition('.')[2]}": state[key]
               for i, key in enumerate(call_order(network, example))}  # fmt: skip
    contents = {"model_build_kwargs": None, "model": weights, "optimizer": [{}], "epoch": epoch,
                "cfg": config, "biapy_version": "3.7.1"}  # fmt: skip
    torch.save(contents, path)
