"""Marker-controlled watershed by a bucket-queue flood (faces connectivity), 2D and 3D.

The surface is quantised to 65,536 levels between its minimum and maximum inside the
mask; voxels are taken level by level, first in first out within a level, as
skimage's heap takes equal values by age. Where skimage pays a heap operation per
voxel, a bucket queue pays a constant, hence several times faster on large volumes.
"""
from __future__ import annotations

import numpy as np


def quantise(surface: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """uint16 levels of ``surface``, 0 at its minimum inside ``mask`` and 65535 at its maximum."""
    from ._kernels import quantise_in_mask

    mask = np.ones(surface.shape, dtype=bool) if mask is None else mask
    levels = np.zeros(surface.shape, np.uint16)
    quantise_in_mask(np.ascontiguousarray(surface, dtype=np.float32).ravel(), np.ascontiguousarray(mask).ravel(), levels.ravel())
    return levels


def flood_from_markers(surface: np.ndarray, markers: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Watershed of ``surface`` from ``markers`` (int, 0 = none) restricted to ``mask``; int32 labels.

    Equals ``skimage.segmentation.watershed(surface, markers, mask=mask)`` up to the order
    of voxels whose surface values fall in the same of 65,536 levels.
    """
    from ._kernels import flood_buckets

    if mask is None:
        mask = np.ones(surface.shape, dtype=bool)
    if markers.max(initial=0) > np.iinfo(np.int32).max:
        raise ValueError("flood_from_markers: more than 2**31 markers")
    # one voxel of padding outside the mask keeps every neighbour offset inside the arrays
    padded_shape = tuple(n + 2 for n in surface.shape)
    inner = tuple(slice(1, -1) for _ in range(surface.ndim))
    padded_mask = np.zeros(padded_shape, dtype=bool)
    padded_mask[inner] = mask
    labels = np.zeros(padded_shape, dtype=np.int32)
    labels[inner] = np.where(mask, markers, 0)
    levels = np.zeros(padded_shape, dtype=np.uint16)
    levels[inner] = quantise(surface, mask)
    strides = np.array(padded_mask.strides) // padded_mask.itemsize
    offsets = np.concatenate([strides, -strides]).astype(np.int64)
    # int32 queue slots halve the largest allocations up to 2**31 voxels
    index_type = np.int32 if levels.size < 2**31 else np.int64
    following = np.empty(levels.size, dtype=index_type)
    run = np.empty(levels.size, dtype=index_type)
    flooded = flood_buckets(levels.ravel(), labels.ravel(), padded_mask.ravel(), offsets, following, run)
    return np.ascontiguousarray(flooded.reshape(padded_mask.shape)[inner])
