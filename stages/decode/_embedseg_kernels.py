"""Compiled EmbedSeg clustering: the seed loop with a grid over the embeddings instead of a k-d
tree."""

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _embedding_grid(embeddings, cell):
    """Points bucketed by grid cell: (origin, cells per axis, strides, first member of each cell,
    members)."""
    count, ndim = embeddings.shape
    origin = np.empty(ndim)
    extent = np.empty(ndim, np.int64)
    for axis in range(ndim):
        low = embeddings[0, axis]
        high = embeddings[0, axis]
        for point in range(count):
            low = min(low, embeddings[point, axis])
            high = max(high, embeddings[point, axis])
        origin[axis] = low
        extent[axis] = int((high - low) / cell) + 1
    strides = np.ones(ndim, np.int64)
    for axis in range(ndim - 2, -1, -1):
        strides[axis] = strides[axis + 1] * extent[axis + 1]
    cells = strides[0] * extent[0]
    owner = np.empty(count, np.int64)
    first = np.zeros(cells + 1, np.int64)
    for point in range(count):
        index = 0
        for axis in range(ndim):
            index += int((embeddings[point, axis] - origin[axis]) / cell) * strides[axis]
        owner[point] = index
        first[index + 1] += 1
    for index in range(cells):
        first[index + 1] += first[index]
    filled = first[:-1].copy()
    members = np.empty(count, np.int64)
    for point in range(count):
        members[filled[owner[point]]] = point
        filled[owner[point]] += 1
    return origin, extent, strides, first, members


@numba.njit(cache=True, nogil=True)
def cluster_seeds(
    embeddings,
    sigma,
    seediness,
    order,
    seed_thresh,
    min_unclustered_sum,
    min_object_size,
    reach,
    cell,
    kernel_threshold,
):
    """Instance id (0: none) of every foreground point, as the EmbedSeg seed loop assigns them.

    Seeds are taken in ``order`` (seediness, highest first) among the unclustered points;
    a seed's proposal is every point whose kernel exp(-1/2 sum(((e - e_seed) / sigma_seed)^2))
    exceeds ``kernel_threshold``, looked for in the grid cells of the box the kernel's ball
    fits in (a point outside it has a lower kernel).
    """
    count, ndim = embeddings.shape
    origin, extent, strides, first, members = _embedding_grid(embeddings, cell)
    unclustered = np.ones(count, np.bool_)
    assigned = np.zeros(count, np.uint32)
    proposal = np.empty(count, np.int64)
    low = np.empty(ndim, np.int64)
    high = np.empty(ndim, np.int64)
    position = np.empty(ndim, np.int64)
    remaining = count
    instance = 0
    pointer = 0
    while remaining > min_unclustered_sum:
        while pointer < count and not unclustered[order[pointer]]:
            pointer += 1
        if pointer == count:
            break
        seed = order[pointer]
        if seediness[seed] < seed_thresh:
            break
        radius = 0.0
        for axis in range(ndim):
            radius = max(radius, sigma[seed, axis])
        radius *= reach
        for axis in range(ndim):
            low[axis] = max(0, int((embeddings[seed, axis] - radius - origin[axis]) / cell))
            high[axis] = min(
                extent[axis] - 1, int((embeddings[seed, axis] + radius - origin[axis]) / cell)
            )
            position[axis] = low[axis]
        found = 0
        fresh = 0
        while True:
            index = 0
            for axis in range(ndim):
                index += position[axis] * strides[axis]
            for slot in range(first[index], first[index + 1]):
                point = members[slot]
                squared = 0.0
                for axis in range(ndim):
                    scaled = (embeddings[point, axis] - embeddings[seed, axis]) / sigma[seed, axis]
                    squared += scaled * scaled
                if np.exp(-0.5 * squared) > kernel_threshold:
                    proposal[found] = point
                    found += 1
                    fresh += unclustered[point]
            # the next cell of the box, last axis fastest
            axis = ndim - 1
            while axis >= 0:
                position[axis] += 1
                if position[axis] <= high[axis]:
                    break
                position[axis] = low[axis]
                axis -= 1
            if axis < 0:
                break
        if found > min_object_size and fresh > 0.5 * found:
            instance += 1
            for slot in range(found):
                if unclustered[proposal[slot]]:
                    assigned[proposal[slot]] = instance
        remaining -= fresh
        for slot in range(found):
            unclustered[proposal[slot]] = False
        # the seed leaves the pool even when its kernel missed it, so the loop always advances
        remaining -= unclustered[seed]
        unclustered[seed] = False
    return assigned
