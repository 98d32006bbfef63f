"""Compiled search for the contacts of fragments (imported lazily: numba compiles on first use)."""

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def fragment_contacts(labels, fragment, offsets):
    """One (fragment id, neighbour id) row per voxel in the one-voxel shell of each fragment.

    ``labels``: flat, padded by one voxel of 0 along each image axis; ``fragment``: bool
    per id; ``offsets``: the flat steps to all neighbours (faces, edges and corners). A
    shell voxel is a labelled voxel of another id next to the fragment, counted once
    per fragment however many of the fragment's voxels it touches.
    """
    voxels = []
    for index in range(labels.size):
        if fragment[labels[index]]:
            voxels.append(index)
    count = len(voxels)
    ids = np.empty(count, np.int64)
    positions = np.empty(count, np.int64)
    for k in range(count):
        positions[k] = voxels[k]
        ids[k] = labels[voxels[k]]
    order = np.argsort(ids, kind="mergesort")
    sources = []
    targets = []
    start = 0
    while start < count:
        own = ids[order[start]]
        stop = start
        while stop < count and ids[order[stop]] == own:
            stop += 1
        shell = {-1}
        for k in range(start, stop):
            index = positions[order[k]]
            for offset in offsets:
                neighbour = index + offset
                other = labels[neighbour]
                if other > 0 and other != own and neighbour not in shell:
                    shell.add(neighbour)
                    sources.append(own)
                    targets.append(other)
        start = stop
    out = np.empty((len(sources), 2), np.int64)
    for k in range(len(sources)):
        out[k, 0] = sources[k]
        out[k, 1] = targets[k]
    return out
