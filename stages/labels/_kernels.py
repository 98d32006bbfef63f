"""Compiled one-pass label statistics and face-neighbour boundaries (imported lazily).

Every kernel takes a (Z, Y, X) view; 2D callers pass a (1, Y, X) view.
"""

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def coordinate_sums(labels, count):
    """Voxel count and coordinate sums (z, y, x) of every id below ``count``."""
    sizes = np.zeros(count, np.int64)
    sums = np.zeros((count, 3), np.float64)
    depth, height, width = labels.shape
    for z in range(depth):
        for y in range(height):
            for x in range(width):
                value = labels[z, y, x]
                if value > 0:
                    sizes[value] += 1
                    sums[value, 0] += z
                    sums[value, 1] += y
                    sums[value, 2] += x
    return sizes, sums


@numba.njit(cache=True, nogil=True)
def face_boundaries(labels, foreground_only):
    """Voxels with a face neighbour of another value (skimage's 'thick'; 'inner' when
    ``foreground_only``).

    Rows are compared whole, a missing neighbour at an edge replaced by the row itself
    (equal, so never a boundary): no branch in the inner loop, which the compiler vectorises.
    """
    depth, height, width = labels.shape
    out = np.zeros(labels.shape, np.bool_)
    for z in range(depth):
        for y in range(height):
            row = labels[z, y]
            before_z = labels[z - 1, y] if z > 0 else row
            after_z = labels[z + 1, y] if z + 1 < depth else row
            before_y = labels[z, y - 1] if y > 0 else row
            after_y = labels[z, y + 1] if y + 1 < height else row
            target = out[z, y]
            for x in range(width):
                value = row[x]
                left = row[x - 1] if x > 0 else value
                right = row[x + 1] if x + 1 < width else value
                edge = (
                    (before_z[x] != value)
                    | (after_z[x] != value)
                    | (before_y[x] != value)
                    | (after_y[x] != value)
                    | (left != value)
                    | (right != value)
                )
                target[x] = edge & ((not foreground_only) | (value != 0))
    return out


@numba.njit(cache=True, nogil=True)
def label_maximum(labels, values, count):
    """Largest value of every id below ``count`` (0 for absent ids and for the background)."""
    maxima = np.full(count, -np.inf)
    for index in range(labels.size):
        value = labels.flat[index]
        if value > 0 and values.flat[index] > maxima[value]:
            maxima[value] = values.flat[index]
    maxima[0] = 0.0
    for value in range(count):
        if maxima[value] == -np.inf:
            maxima[value] = 0.0
    return maxima


@numba.njit(cache=True, nogil=True)
def nearest_voxels(labels, wanted, points):
    """For each id with ``wanted[id]``, its voxel nearest to ``points[id]`` (z, y, x); the first in
    raster order on ties.

    One pass over the (Z, Y, X) labels; rows of absent ids stay -1.
    """
    count = wanted.size
    best = np.full(count, np.inf)
    nearest = np.full((count, 3), -1, np.int64)
    depth, height, width = labels.shape
    for z in range(depth):
        for y in range(height):
            for x in range(width):
                value = labels[z, y, x]
                if value > 0 and wanted[value]:
                    dz = z - points[value, 0]
                    dy = y - points[value, 1]
                    dx = x - points[value, 2]
                    distance = dz * dz + dy * dy + dx * dx
                    if distance < best[value]:
                        best[value] = distance
                        nearest[value, 0] = z
                        nearest[value, 1] = y
                        nearest[value, 2] = x
    return nearest
