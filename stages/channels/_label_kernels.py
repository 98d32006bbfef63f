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


@numba.njit(cache=True, nogil=True)
def divide_by_label_maximum(values, labels, count, add_inside):
    """In place: values + add_inside over the largest such value of the voxel's id; 0 on background.

    Flat arrays; ids below ``count``. An id whose largest value is not positive gets 0.
    """
    maxima = np.zeros(count, np.float64)
    for index in range(labels.size):
        value = labels[index]
        if value > 0:
            maxima[value] = max(maxima[value], values[index] + add_inside)
    for index in range(labels.size):
        top = maxima[labels[index]]
        values[index] = (values[index] + add_inside) / top if labels[index] > 0 and top > 0 else 0.0


@numba.njit(cache=True, nogil=True)
def assemble_signed_distance(labels, squared, count, norm, squash, alpha, beta):
    """In place in ``squared`` (flat): beta x distance to the boundary on instances, -alpha x
    distance to the nearest instance on the background (id 0).

    ``squared`` holds squared distances (integers). With ``norm`` the inside is divided by
    its maximum per id and the outside by its overall maximum; with ``squash`` both pass
    through tanh. A voxel's value depends only on its id and its squared distance, so it is
    looked up in a table of every (id, squared distance) up to the id's largest: a tanh per
    entry instead of one per voxel. An id's largest squared distance is about the area (2D)
    or less (3D) of the ball it holds, so the table is never much larger than the image.
    """
    largest = np.zeros(count, np.int64)
    for index in range(labels.size):
        value = labels[index]
        k = np.int64(squared[index] + 0.5)
        if k > largest[value]:
            largest[value] = k
    start = np.zeros(count + 1, np.int64)
    for value in range(count):
        start[value + 1] = start[value] + largest[value] + 1
    table = np.empty(start[count], np.float32)
    for value in range(count):
        # the distances as the transform gives them (float32 roots), so the table holds
        # what scaling each voxel's own root would give
        top = np.float64(np.float32(np.sqrt(largest[value])))
        scale = beta if value > 0 else -alpha
        for k in range(largest[value] + 1):
            distance = np.float64(np.float32(np.sqrt(k)))
            if norm:
                distance = distance / top if top > 0 else 0.0
            distance = scale * distance
            table[start[value] + k] = np.tanh(distance) if squash else distance
    for index in range(labels.size):
        value = labels[index]
        squared[index] = table[start[value] + np.int64(squared[index] + 0.5)]


@numba.njit(cache=True, nogil=True)
def affinity_planes(labels, offsets, out):
    """Into ``out`` (n, Z, Y, X), zeroed: 1 where voxel p and p - offsets[k] hold the same instance.

    Whole overlapping rows (where p - offset leaves the image ``out`` keeps its 0); the
    comparison is bitwise (no short-circuit), so the inner loop vectorises. One thread:
    ``out`` comes fresh from numpy, and two threads faulting its pages in contend (2x slower).
    """
    depth, height, width = labels.shape
    for k in range(offsets.shape[0]):
        dz = offsets[k, 0]
        dy = offsets[k, 1]
        dx = offsets[k, 2]
        first = max(dx, 0)
        stop = width + min(dx, 0)
        for z in range(max(dz, 0), depth + min(dz, 0)):
            for y in range(max(dy, 0), height + min(dy, 0)):
                here = labels[z, y, first:stop]
                there = labels[z - dz, y - dy, first - dx : stop - dx]
                target = out[k, z, y, first:stop]
                for x in range(stop - first):
                    value = here[x]
                    target[x] = (value == there[x]) & (value != 0)
    return out


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
