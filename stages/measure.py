"""Per-instance morphological measurements (BiaPy's MEASURE_PROPERTIES, MorphoLibJ conventions).

The 3D surface area follows MorphoLibJ (Crofton formula, 13 directions) rather
than BiaPy's marching cubes on an unpadded crop, which gives area 0 to objects
that fill their box and a ball's sphericity near 0.77.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd
from skimage.measure import perimeter, regionprops_table

from .labels import compact_ids, instance_boxes

# the 13 lattice directions of a 3x3x3 neighbourhood (one of each +/- pair)
_DIRECTIONS = np.array([d for d in itertools.product((-1, 0, 1), repeat=3) if d > (0, 0, 0)])


@lru_cache(maxsize=16)
def _crofton_weights(spacing: tuple[float, ...]) -> np.ndarray:
    """Share of the unit sphere closest to each direction (+/-), in physical space.

    Computed on a Fibonacci sphere of 20,000 points: deterministic, and exact enough
    that the weights sum to 1 and follow the voxel anisotropy.
    """
    count = 20000
    index = np.arange(count) + 0.5
    polar = np.arccos(1 - 2 * index / count)
    azimuth = np.pi * (1 + 5**0.5) * index
    points = np.stack(
        [np.cos(polar), np.sin(polar) * np.sin(azimuth), np.sin(polar) * np.cos(azimuth)], axis=1
    )
    directions = _DIRECTIONS * np.asarray(spacing)
    directions = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    nearest = np.abs(points @ directions.T).argmax(axis=1)
    return np.bincount(nearest, minlength=len(directions)) / count


def surface_area(mask: np.ndarray, spacing: Sequence[float] = (1.0, 1.0, 1.0)) -> float:
    """Surface area of a 3D binary object by the Crofton formula over 13 directions.

    Along each lattice direction d, the object/background transitions times the area
    each lattice line stands for give twice the object's projected area; the
    direction-weighted mean projected area is a quarter of the surface (Cauchy).
    Unlike marching cubes on the voxel staircase (about 9% too large, so a ball's
    sphericity near 0.77), this is unbiased for any object size and spacing.
    """
    spacing = tuple(float(s) for s in spacing)
    padded = np.pad(mask.astype(bool), 1)
    weights = _crofton_weights(spacing)
    voxel_volume = float(np.prod(spacing))
    total = 0.0
    for direction, weight in zip(_DIRECTIONS, weights):
        ahead = tuple(
            slice(max(d, 0), padded.shape[a] + min(d, 0)) for a, d in enumerate(direction)
        )
        behind = tuple(
            slice(max(-d, 0), padded.shape[a] + min(-d, 0)) for a, d in enumerate(direction)
        )
        transitions = np.count_nonzero(padded[ahead] != padded[behind])
        area_per_line = voxel_volume / float(np.linalg.norm(direction * np.asarray(spacing)))
        total += weight * transitions * area_per_line / 2
    return 4.0 * total


def measure_instances(
    labels: np.ndarray,
    *,
    spacing: Sequence[float] | None = None,
    extra_properties: Sequence[str] = (),
) -> pd.DataFrame:
    """One row per instance: label, centre, npixels, area (volume in 3D), diameter, perimeter or
    surface_area, circularity and elongation (2D) or sphericity (3D), and any regionprops extras.

    ``area``/``volume`` and ``perimeter``/``surface_area`` use ``spacing``; npixels and
    diameter (largest bounding-box extent) are in pixels, as in BiaPy.
    """
    ndim = labels.ndim
    spacing = tuple(float(s) for s in (spacing or (1.0,) * ndim))
    if len(spacing) != ndim:
        raise ValueError(
            f"`spacing` {spacing} must have one value per axis of labels (shape {labels.shape})"
        )
    axes = ("z", "y", "x")[-ndim:]
    # per-instance work sized by the instance count, whatever the ids; ids mapped back below
    labels, original_ids = compact_ids(labels)
    rows = []
    for label_id, box in instance_boxes(labels):
        mask = labels[box] == label_id
        npixels = int(mask.sum())
        coords = np.nonzero(mask)
        row = {"label": label_id}
        for axis, name in enumerate(axes):
            row[f"center_{name}"] = float(coords[axis].mean() + box[axis].start)
        row["npixels"] = npixels
        size = float(npixels * np.prod(spacing))
        row["diameter"] = int(max(s.stop - s.start for s in box))
        if ndim == 2:
            # 4-connected contour through border pixel centres; scaled when pixels are square
            length = float(perimeter(np.pad(mask, 1), neighborhood=4)) * (
                spacing[0] if spacing[0] == spacing[1] else 1.0
            )
            row["area"] = size
            row["perimeter"] = length
            row["circularity"] = 4 * np.pi * size / length**2 if length > 0 else 0.0
            row["elongation"] = length**2 / (4 * np.pi * size) if size > 0 else 0.0
        else:
            area = surface_area(mask, spacing)
            row["volume"] = size
            row["area"] = size
            row["surface_area"] = area
            row["sphericity"] = 36 * np.pi * size**2 / area**3 if area > 0 else 0.0
        rows.append(row)
    columns = (
        ["label"]
        + [f"center_{a}" for a in axes]
        + ["npixels"]
        + (
            ["area", "diameter", "perimeter", "circularity", "elongation"]
            if ndim == 2
            else ["volume", "area", "diameter", "surface_area", "sphericity"]
        )
    )
    frame = pd.DataFrame(rows, columns=columns)
    if extra_properties and len(frame):
        extra = pd.DataFrame(
            regionprops_table(labels, properties=["label", *extra_properties], spacing=spacing)
        )
        frame = frame.merge(extra, on="label", how="left")
    elif extra_properties:
        for name in extra_properties:
            frame[name] = []
    if original_ids is not None:
        frame["label"] = original_ids[frame["label"].to_numpy() - 1]
    return frame


def with_class_column(table: pd.DataFrame, labels: np.ndarray, classes: np.ndarray) -> pd.DataFrame:
    """``table`` (one row per instance, a 'label' column) with each instance's class after
    'label': the majority class of its pixels in ``classes``."""
    from .labels.classes import instance_classes

    ids, values = instance_classes(labels, classes)
    found = np.searchsorted(ids, table["label"].to_numpy())
    out = table.copy()
    out.insert(int(table.columns.get_loc("label")) + 1, "class", values[found] if ids.size else [])
    return out
