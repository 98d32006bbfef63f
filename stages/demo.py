"""The real demo data: stardist's sample nuclei (BSD-3), read from the installed package's files."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import tifffile

from .io import InputError

SAMPLES = {"stardist2d": ("img2d.tif", "mask2d.tif"), "stardist3d": ("img3d.tif", "mask3d.tif")}


def stardist_data_folder() -> Path:
    """stardist/data/images of the installed package, found without importing it (no TensorFlow)."""
    spec = importlib.util.find_spec("stardist")
    if spec is None or not spec.submodule_search_locations:
        raise InputError(
            "the demo data come from the `stardist` package: pip install stardist (or "
            "segpipe[demo])"
        )
    folder = Path(list(spec.submodule_search_locations)[0]) / "data" / "images"
    if not folder.is_dir():
        raise InputError(f"{folder} does not exist: this stardist package ships no sample images")
    return folder


def read_stardist_sample(sample: str) -> tuple[np.ndarray, np.ndarray]:
    folder = stardist_data_folder()
    image_name, mask_name = SAMPLES[sample]
    return tifffile.imread(folder / image_name), tifffile.imread(folder / mask_name)


def demo_tiles(image: np.ndarray, labels: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """2x2 tiles along the last two axes, in row-major order (the last is the bottom-right tile)."""
    y_half, x_half = image.shape[-2] // 2, image.shape[-1] // 2
    tiles = []
    for ys in (slice(0, y_half), slice(y_half, None)):
        for xs in (slice(0, x_half), slice(x_half, None)):
            box = (Ellipsis, ys, xs)
            tiles.append((np.ascontiguousarray(image[box]), np.ascontiguousarray(labels[box])))
    return tiles
