"""Fragments after a seeded flood, merged into the instance they touch most.

A marker-controlled watershed turns every stray seed into an instance (a one-voxel
pocket between a touching band and a rim). Fragments are decided from the labels and
their sizes alone: whole-image work is vectorised, and the only loop runs over
fragments, inside their find_objects boxes. (The other clean-up, foreground that no
seed reached, is labelled during the flood: :func:`.flood.flood_from_seeds`.)
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def median_instance_size(labels: np.ndarray, sizes: np.ndarray | None = None) -> float:
    """Median voxel count of the non-zero labels (0 when there are none); ``sizes``: their bincount, if known."""
    sizes = np.bincount(labels.ravel()) if sizes is None else sizes
    sizes = sizes[1:][sizes[1:] > 0]
    return float(np.median(sizes)) if sizes.size else 0.0


def _best_neighbours(labels: np.ndarray, fragment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each fragment that touches another instance (faces, edges or corners), that instance.

    The neighbour with most voxels in the fragment's one-voxel shell wins; then one that
    is not a fragment; then the lower id. Loops over fragments only, inside their boxes.
    """
    shell_structure = np.ones((3,) * labels.ndim, dtype=bool)
    ids = np.flatnonzero(fragment)
    boxes = ndi.find_objects(labels, max_label=int(ids[-1]))
    sources, targets = [], []
    for fragment_id in ids:
        box = boxes[fragment_id - 1]
        box = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in box)
        crop = labels[box]
        own = crop == fragment_id
        shell = ndi.binary_dilation(own, shell_structure) & ~own & (crop > 0)
        if not shell.any():
            continue
        neighbours, counts = np.unique(crop[shell], return_counts=True)
        order = np.lexsort((neighbours, fragment[neighbours], -counts))
        sources.append(fragment_id)
        targets.append(neighbours[order[0]])
    return np.asarray(sources, dtype=np.int64), np.asarray(targets, dtype=np.int64)


def fragment_table(labels: np.ndarray, fragment_size: float, sizes: np.ndarray) -> np.ndarray | None:
    """The id each id becomes when fragments merge (see :func:`merge_fragments`); None when none does.

    Parameters
    ----------
    labels : integer label image, (Y, X) or (Z, Y, X).
    fragment_size : instances of fewer voxels are fragments.
    sizes : voxel count of every id 0..max (``np.bincount(labels.ravel())``).
    """
    fragment = (sizes > 0) & (sizes < fragment_size)
    fragment[0] = False
    if not fragment.any():
        return None
    first, second = _best_neighbours(labels, fragment)
    if first.size == 0:
        return None
    table = np.arange(sizes.size, dtype=np.int64)
    # fragments point to their best neighbour; each weakly connected group holds at most
    # one non-fragment (non-fragments point nowhere), which then names the group
    graph = coo_matrix((np.ones(first.size), (first, second)), shape=(sizes.size, sizes.size))
    _, group = connected_components(graph, directed=True, connection="weak")
    joined = np.zeros(sizes.size, dtype=bool)
    joined[first] = True
    joined[second] = True
    members = np.flatnonzero(joined)
    owners = members[~fragment[members]]
    name = np.zeros(group.max() + 1, dtype=np.int64)
    # groups of fragments only (a cycle) keep their largest member
    cycle_members = members[fragment[members]]
    by_size = cycle_members[np.argsort(sizes[cycle_members], kind="stable")]
    name[group[by_size]] = by_size
    name[group[owners]] = owners
    table[members] = name[group[members]]
    return table


def merge_fragments(labels: np.ndarray, fraction: float, sizes: np.ndarray | None = None) -> np.ndarray:
    """Merge instances smaller than ``fraction`` x the median instance size into a neighbour.

    A fragment joins the touching instance it has most voxels next to (faces, edges or
    corners: a part joined to its object only diagonally is a fragment too); one that
    touches no instance stays as it is (a small object is not a fragment of anything).
    Chains of fragments end in the instance their chain reaches, so the result does
    not depend on the order of ids.
    """
    if fraction <= 0 or labels.size == 0:
        return labels
    sizes = np.bincount(labels.ravel()) if sizes is None else sizes
    table = fragment_table(labels, fraction * median_instance_size(labels, sizes), sizes)
    return labels if table is None else table[labels]
