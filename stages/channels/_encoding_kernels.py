"""Compiled per-label passes of the distance and affinity encoders (imported lazily).

Every kernel takes a (Z, Y, X) view; 2D callers pass a (1, Y, X) view.
"""

import numba
import numpy as np


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
def diffuse_heat(inside, source, rounds, planar):
    """Cellpose's heat in one instance's box: ``rounds`` times, the source voxel (z, y, x)
    gains 1, then each voxel of ``inside`` (a (Z, Y, X) bool box with a margin of one voxel of
    False around the instance; a (1, Y, X) one, ``planar``, for 2D) takes the mean of its
    3x3(x3) window, voxels outside counting 0. Returns the float64 heat, 0 outside."""
    depth, height, width = inside.shape
    voxels = np.flatnonzero(inside.ravel())
    heat = np.zeros(inside.size, np.float64)
    spread = np.zeros(inside.size, np.float64)
    reach = 0 if planar else 1
    window = 9.0 if planar else 27.0
    plane = height * width
    start = (source[0] * height + source[1]) * width + source[2]
    for _ in range(rounds):
        heat[start] += 1.0
        for index in voxels:
            total = 0.0
            for dz in range(-reach, reach + 1):
                for dy in range(-1, 2):
                    row = index + dz * plane + dy * width
                    total += heat[row - 1] + heat[row] + heat[row + 1]
            spread[index] = total / window
        heat, spread = spread, heat
    return heat.reshape(inside.shape)
