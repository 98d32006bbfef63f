"""Pictures for people: a test image with the outlines of its instances, the matching's
association image, side by side (the middle slice of a volume).

Arrays in, RGB arrays out; :func:`save_panels` is the one place that draws with matplotlib.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

#: outline colours: prediction yellow, ground truth magenta (both: white)
PREDICTION_COLOUR = np.array([1.0, 0.85, 0.0])
TRUTH_COLOUR = np.array([1.0, 0.0, 1.0])


def middle_slice(array: np.ndarray, spatial: int) -> np.ndarray:
    """The middle Z slice of a 3D array (spatial axes first), a 2D one as it is."""
    return array[array.shape[0] // 2] if spatial == 3 else array


def display_grey(raw: np.ndarray, spatial: int) -> np.ndarray:
    """The first channel of a channel-last raw image, stretched to [0, 1] between its 1st and
    99.8th percentiles (middle slice in 3D)."""
    grey = middle_slice(raw, spatial)[..., 0].astype(np.float32)
    low, high = np.percentile(grey, (1, 99.8))
    return np.clip((grey - low) / max(float(high - low), 1e-6), 0, 1)


def outline_overlay(
    grey: np.ndarray, predicted: np.ndarray, truth: np.ndarray | None = None
) -> np.ndarray:
    """An RGB picture of ``grey`` with the inner outlines of the predicted instances (yellow)
    and of the ground truth (magenta) drawn over it; all (Y, X)."""
    from skimage.segmentation import find_boundaries

    picture = np.repeat(grey[..., np.newaxis], 3, axis=-1)
    predicted_edges = find_boundaries(predicted, mode="inner")
    picture[predicted_edges] = PREDICTION_COLOUR
    if truth is not None:
        truth_edges = find_boundaries(truth, mode="inner")
        picture[truth_edges] = TRUTH_COLOUR
        picture[truth_edges & predicted_edges] = 1.0
    return picture


def save_panels(
    panels: Sequence[tuple[str, np.ndarray]], path: str | Path, title: str, dpi: int = 90
) -> None:
    """Write the (name, picture) panels side by side as a PNG, atomically."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from .io import atomic_output

    figure, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4.3))
    for axis, (name, picture) in zip(np.atleast_1d(axes), panels):
        axis.imshow(picture, cmap="gray" if picture.ndim == 2 else None, interpolation="nearest")
        axis.set_title(name, fontsize=10)
        axis.axis("off")
    figure.suptitle(title)
    figure.tight_layout()
    with atomic_output(path) as temporary:
        figure.savefig(temporary, format="png", dpi=dpi)
    plt.close(figure)


def image_panels(
    raw: np.ndarray,
    predicted: np.ndarray,
    truth: np.ndarray | None = None,
    associations: np.ndarray | None = None,
    association_title: str = "matching: TP green, FN red, FP blue",
) -> list[tuple[str, np.ndarray]]:
    """The raw image, its outlines and (when given) the association image, as panels.

    Parameters
    ----------
    raw
        Channel-last raw image, (Y, X, C) or (Z, Y, X, C).
    predicted, truth
        Instance labels, (Y, X) or (Z, Y, X).
    associations
        The RGB association image of `segpipe evaluate`, (..., 3) uint8.
    """
    spatial = predicted.ndim
    grey = display_grey(raw, spatial)
    truth_slice = middle_slice(truth, spatial) if truth is not None else None
    outlines = outline_overlay(grey, middle_slice(predicted, spatial), truth_slice)
    legend = "outlines: prediction yellow" + (", truth magenta" if truth is not None else "")
    panels = [("raw", grey), (legend, outlines)]
    if associations is not None:
        panels.append((association_title, middle_slice(associations, spatial)))
    return panels
