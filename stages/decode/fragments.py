"""Fragments after a seeded flood, merged into the instance they touch most.

A marker-controlled watershed turns every stray seed into an instance (a one-voxel
pocket between a touching band and a rim). Fragments are decided from the labels and
their sizes alone: whole-image work is vectorised or compiled, and the only loop runs over
fragment voxels, in one compiled pass. (The other clean-up, foreground that no
seed reached, is labelled during the flood: :func:`.flood.flood_from_seeds`.)
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def median_instance_size(labels: np.ndarray, sizes: np.ndarray | None = None) -> float:
    """Median voxel count of the non-zero labels (0 when there are none); ``sizes``: their bincount,
    if known."""
    sizes = np.bincount(labels.ravel()) if sizes is None else sizes
    sizes = sizes[1:][sizes[1:] > 0]
    return float(np.median(sizes)) if sizes.size else 0.0


def padded_volume(labels: np.ndarray) -> np.ndarray:
    """(Z, Y, X) copy of a 2D or 3D label image with one voxel of 0 on both sides of each image
    axis."""
    volume = np.pad(labels, 1)
    return volume[np.newaxis] if labels.ndim == 2 else volume


def _best_neighbours(
    padded: np.ndarray, image_ndim: int, fragment: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each fragment that touches another instance (faces, edges or corners), that instance.

    The neighbour with most voxels in the fragment's one-voxel shell wins; then one that
    is not a fragment; then the lower id. The shells are found in one compiled pass.
    """
    from ._fragment_kernels import fragment_contacts

    steps = np.array(padded.strides[3 - image_ndim :]) // padded.itemsize
    moves = np.array(list(itertools.product((-1, 0, 1), repeat=image_ndim)))
    offsets = tuple(
        int(step) for step in moves[np.any(moves != 0, axis=1)] @ steps
    )  # a tuple unrolls in the kernel
    contacts = fragment_contacts(padded.ravel(), fragment, offsets)
    if contacts.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # each (fragment, neighbour) pair as one number: a 1D unique (np.unique along axis 0
    # sorts rows as structured values, ~0.1 ms even for one contact)
    span = int(fragment.size)
    keys, counts = np.unique(contacts[:, 0] * span + contacts[:, 1], return_counts=True)
    sources, targets = keys // span, keys % span
    # per fragment: most contact first, then a non-fragment, then the lower id
    order = np.lexsort((targets, fragment[targets], -counts, sources))
    sources, targets = sources[order], targets[order]
    first = np.r_[True, sources[1:] != sources[:-1]]
    return sources[first], targets[first]


def fragment_table(
    padded: np.ndarray, image_ndim: int, fragment_size: float, sizes: np.ndarray
) -> np.ndarray | None:
    """The id each id becomes when fragments merge (see :func:`merge_fragments`); None when none
    does.

    Parameters
    ----------
    padded : (Z, Y, X) labels with one voxel of 0 on both sides of each of their last
        ``image_ndim`` axes (:func:`padded_volume`).
    fragment_size : instances of fewer voxels are fragments.
    sizes : voxel count of every id 0..max.
    """
    fragment = (sizes > 0) & (sizes < fragment_size)
    fragment[0] = False
    if not fragment.any():
        return None
    first, second = _best_neighbours(padded, image_ndim, fragment)
    if first.size == 0:
        return None
    table = np.arange(sizes.size, dtype=np.int64)
    if not fragment[second].any():  # the usual case: every fragment touches a whole instance
        table[first] = second
        return table
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


def merge_fragments(
    labels: np.ndarray, fraction: float, sizes: np.ndarray | None = None
) -> np.ndarray:
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
    table = fragment_table(
        padded_volume(labels), labels.ndim, fraction * median_instance_size(labels, sizes), sizes
    )
    return labels if table is None else table[labels]
