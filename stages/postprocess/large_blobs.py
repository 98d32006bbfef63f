"""Repair of large instances (BiaPy's REPARE_LARGE_BLOBS_SIZE).

With seeds from central points (F + P), a large nucleus can get several seeds and come out
as one big instance ringed or pierced by small ones, often with a hole where the seeds
missed. Each instance of at least the given size absorbs the touching instances that lie
mostly inside its bounding box, and its holes are filled.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ..labels import compact_ids, restore_ids

#: share of a touching instance's pixels inside the large instance's bounding box for it to
#: merge, by rank (BiaPy's rules: its whole box in 2D, 70% of its pixels in 3D, where a
#: fragment often reaches one slice past the large instance's ends)
INSIDE_FRACTION = {2: 1.0, 3: 0.7}


def _grow(box: tuple[slice, ...], shape: tuple[int, ...]) -> tuple[slice, ...]:
    return tuple(slice(max(s.start - 1, 0), min(s.stop + 1, n)) for s, n in zip(box, shape))


def _union(a: tuple[slice, ...], b: tuple[slice, ...]) -> tuple[slice, ...]:
    return tuple(slice(min(x.start, y.start), max(x.stop, y.stop)) for x, y in zip(a, b))


def _hole_structure(ndim: int) -> np.ndarray:
    """Background connectivity for hole filling: in-plane only in 3D, so that each Z slice's
    holes are filled (a hollow nucleus is usually open at its top and bottom)."""
    structure = ndi.generate_binary_structure(ndim, 1)
    if ndim == 3:
        structure[0] = structure[2] = False
    return structure


def repair_large_blobs(
    labels: np.ndarray, min_size: int, *, inside_fraction: float | None = None
) -> np.ndarray:
    """Merge into every instance of at least ``min_size`` pixels its touching neighbours that
    lie mostly inside its bounding box, then fill its holes (slice by slice in 3D).

    Parameters
    ----------
    labels
        Instance labels, (Y,X) or (Z,Y,X).
    min_size
        Pixels an instance needs to be repaired; below 1 nothing is done.
    inside_fraction
        Share of a neighbour's pixels inside the large instance's bounding box for it to
        merge [default: :data:`INSIDE_FRACTION` of the labels' rank].

    Returns
    -------
    The repaired labels, same dtype; merged instances take the large instance's id. Holes are
    filled over background only, so no other instance loses pixels.
    """
    labels = np.asarray(labels)
    if min_size < 1 or not labels.any():
        return labels.copy()
    compact, original_ids = compact_ids(labels)
    out = compact.copy()
    sizes = np.bincount(out.ravel())
    boxes = {i + 1: box for i, box in enumerate(ndi.find_objects(out)) if box is not None}
    repair_large_blobs_into(out, sizes, boxes, min_size, inside_fraction)
    return restore_ids(out, original_ids, labels.dtype)


def repair_large_blobs_into(
    out, sizes: np.ndarray, boxes: dict, min_size: int, inside_fraction: float | None = None
) -> int:
    """:func:`repair_large_blobs` in place on ``out``, an array or one on disk (a Zarr) that is
    read and written by regions: only the boxes of the large instances and of the neighbours
    they absorb are ever read. ``sizes`` (voxels per id) and ``boxes`` (id -> box of slices)
    describe ``out`` and are updated as instances merge. Returns how many instances merged
    into larger ones."""
    ndim = len(out.shape)
    if inside_fraction is None:
        inside_fraction = INSIDE_FRACTION[ndim]
    sizes = np.array(sizes, dtype=np.int64)
    large = np.flatnonzero(sizes >= min_size)
    large = large[large > 0]
    adjacency = ndi.generate_binary_structure(ndim, ndim)
    holes_structure = _hole_structure(ndim)
    shape = tuple(out.shape)
    merged = 0
    # largest first: an instance merged into a larger one is not repaired on its own
    for label_id in large[np.argsort(-sizes[large], kind="stable")]:
        if sizes[label_id] == 0:
            continue
        box = boxes[label_id]
        grown = _grow(box, shape)
        around = np.asarray(out[grown])
        mask = around == label_id
        ring = ndi.binary_dilation(mask, structure=adjacency) & ~mask
        neighbours = np.unique(around[ring])
        neighbours = neighbours[neighbours > 0]
        # the box within the grown box already read (out may be on disk)
        within = around[tuple(slice(b.start - g.start, b.stop - g.start)
                              for b, g in zip(box, grown))]  # fmt: skip
        absorbed = []
        if neighbours.size:
            inside = np.bincount(within.ravel(), minlength=len(sizes))[neighbours]
            absorbed = neighbours[inside >= inside_fraction * sizes[neighbours]]
        for neighbour in absorbed:
            where = boxes[neighbour]
            region = np.array(out[where])
            region[region == neighbour] = label_id
            out[where] = region
            box = _union(box, where)
            sizes[label_id] += sizes[neighbour]
            sizes[neighbour] = 0
            merged += 1
        # nothing merged: the box is still as read; on disk, every read or write of a small
        # box decodes (and a write encodes again) the whole chunks it touches
        region = np.array(out[box]) if len(absorbed) else within.copy()
        filled = ndi.binary_fill_holes(region == label_id, structure=holes_structure)
        holes = filled & (region == 0)
        if holes.any():
            region[holes] = label_id
            out[box] = region
            sizes[label_id] += int(holes.sum())
        boxes[label_id] = box
    return merged
