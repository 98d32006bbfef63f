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
    """Voxels with a face neighbour of another value (skimage's 'thick'; 'inner' when ``foreground_only``)."""
    depth, height, width = labels.shape
    out = np.zeros(labels.shape, np.bool_)
    for z in range(depth):
        for y in range(height):
            for x in range(width):
                value = labels[z, y, x]
                if foreground_only and value == 0:
                    continue
                if ((z > 0 and labels[z - 1, y, x] != value) or (z + 1 < depth and labels[z + 1, y, x] != value)
                        or (y > 0 and labels[z, y - 1, x] != value) or (y + 1 < height and labels[z, y + 1, x] != value)
                        or (x > 0 and labels[z, y, x - 1] != value) or (x + 1 < width and labels[z, y, x + 1] != value)):
                    out[z, y, x] = True
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
def distance_to_points(labels, points):
    """Euclidean distance of every voxel to the point (z, y, x) of its own id; 0 on background."""
    depth, height, width = labels.shape
    out = np.zeros(labels.shape, np.float32)
    for z in range(depth):
        for y in range(height):
            for x in range(width):
                value = labels[z, y, x]
                if value > 0:
                    dz = z - points[value, 0]
                    dy = y - points[value, 1]
                    dx = x - points[value, 2]
                    out[z, y, x] = np.sqrt(dz * dz + dy * dy + dx * dx)
    return out
