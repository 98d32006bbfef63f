"""Compiled priority flood with a bucket queue (imported lazily: numba compiles on first use)."""
import numba
import numpy as np

LEVELS = 65536


@numba.njit(cache=True, nogil=True)
def flood_buckets(levels, labels, mask, offsets):
    """Grow ``labels`` (flat, 0 = unlabelled) over ``mask`` in order of ``levels``, first come first served.

    Every array is flat and padded so that no offset leaves it from a voxel inside the
    mask. A voxel is labelled when it is first reached and queued at the higher of its
    own level and the level being flooded: one pass, no heap.
    """
    size = levels.size
    following = np.full(size, -1, np.int64)
    head = np.full(LEVELS, -1, np.int64)
    tail = np.full(LEVELS, -1, np.int64)
    for index in range(size):
        if labels[index] > 0:
            level = levels[index]
            if tail[level] == -1:
                head[level] = index
            else:
                following[tail[level]] = index
            tail[level] = index
    current = 0
    while current < LEVELS:
        index = head[current]
        if index == -1:
            current += 1
            continue
        head[current] = following[index]
        if head[current] == -1:
            tail[current] = -1
        label = labels[index]
        for offset in offsets:
            neighbour = index + offset
            if mask[neighbour] and labels[neighbour] == 0:
                labels[neighbour] = label
                level = max(levels[neighbour], current)
                following[neighbour] = -1
                if tail[level] == -1:
                    head[level] = neighbour
                else:
                    following[tail[level]] = neighbour
                tail[level] = neighbour
    return labels
