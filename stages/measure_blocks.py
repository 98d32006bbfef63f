"""Per-instance measurements gathered block by block: sums that add up over blocks.

Voxel counts, coordinate sums (centres), bounding boxes, the Crofton transitions of each
of the 13 lattice directions (3D surface area, as :func:`stages.measure.surface_area`
counts them) and the voxels of each class are all sums, minima or maxima over voxels, so
a volume read block by block (each block with one voxel of context around it) measures as
the whole volume does. A boundary pair is counted from its instance voxel's block.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .measure import _DIRECTIONS, _crofton_weights


@dataclass(frozen=True)
class InstanceSums:
    ids: np.ndarray  # sorted instance ids (no 0)
    npixels: np.ndarray  # int64
    coordinate_sums: np.ndarray  # (n, ndim) float64
    box_min: np.ndarray  # (n, ndim) int64, inclusive
    box_max: np.ndarray  # (n, ndim) int64, inclusive
    transitions: np.ndarray  # (n, 13) int64 in 3D, (n, 0) in 2D
    class_ids: np.ndarray  # (n, k) voxels of each class 0..k-1 (k = 0 without classes)


def _empty(ndim: int, classes: int) -> InstanceSums:
    zeros = np.zeros(0, np.int64)
    return InstanceSums(
        zeros,
        zeros,
        np.zeros((0, ndim)),
        np.zeros((0, ndim), np.int64),
        np.zeros((0, ndim), np.int64),
        np.zeros((0, len(_DIRECTIONS) if ndim == 3 else 0), np.int64),
        np.zeros((0, classes), np.int64),
    )


def block_sums(
    labels: np.ndarray,
    offset: Sequence[int],
    classes: np.ndarray | None = None,
    n_classes: int = 0,
) -> InstanceSums:
    """The sums of one block: ``labels`` is the block with one voxel of context on every side
    (0 beyond the volume), ``offset`` the volume coordinates of the block's first core voxel;
    ``classes`` the class ids of the same (context-padded) block."""
    ndim = labels.ndim
    core = tuple(slice(1, s - 1) for s in labels.shape)
    inner = labels[core]
    ids, inverse = np.unique(labels, return_inverse=True)
    inverse = inverse.reshape(labels.shape)
    if ids[0] == 0:
        ids, inverse = ids[1:], inverse - 1  # background becomes -1
    count = len(ids)
    if count == 0:
        return _empty(ndim, n_classes)
    index = inverse[core]
    present = index >= 0
    flat = index[present]
    npixels = np.bincount(flat, minlength=count).astype(np.int64)
    coordinates = np.nonzero(present)
    sums = np.stack(
        [np.bincount(flat, weights=c + o, minlength=count) for c, o in zip(coordinates, offset)],
        axis=1,
    )
    box_min = np.full((count, ndim), np.iinfo(np.int64).max, np.int64)
    box_max = np.full((count, ndim), np.iinfo(np.int64).min, np.int64)
    for axis, (c, o) in enumerate(zip(coordinates, offset)):
        np.minimum.at(box_min[:, axis], flat, c + o)
        np.maximum.at(box_max[:, axis], flat, c + o)
    transitions = np.zeros((count, len(_DIRECTIONS) if ndim == 3 else 0), np.int64)
    if ndim == 3:
        # from each voxel of an instance, its neighbours along +d and -d outside it: every
        # boundary pair is counted once, on the instance's side, in the block holding that voxel
        for column, direction in enumerate(_DIRECTIONS):
            for sign in (1, -1):
                ahead = tuple(
                    slice(1 + sign * d, s - 1 + sign * d) for d, s in zip(direction, labels.shape)
                )
                differ = present & (inner != labels[ahead])
                transitions[:, column] += np.bincount(index[differ], minlength=count)
    class_counts = np.zeros((count, n_classes), np.int64)
    if classes is not None and n_classes:
        pairs = flat * n_classes + classes[core][present].astype(np.int64)
        class_counts = np.bincount(pairs, minlength=count * n_classes).reshape(count, n_classes)
    return InstanceSums(
        ids.astype(np.int64), npixels, sums, box_min, box_max, transitions, class_counts
    )


def merge_sums(parts: Iterable[InstanceSums]) -> InstanceSums:
    """The sums of the union of disjoint blocks (instances seen in several blocks joined)."""
    parts = [p for p in parts if len(p.ids)]
    if not parts:
        raise ValueError("no block held an instance")
    ids, inverse = np.unique(np.concatenate([p.ids for p in parts]), return_inverse=True)
    count = len(ids)

    def added(name: str) -> np.ndarray:
        values = np.concatenate([getattr(p, name) for p in parts])
        out = np.zeros((count,) + values.shape[1:], values.dtype)
        np.add.at(out, inverse, values)
        return out

    box_min = np.full((count, parts[0].box_min.shape[1]), np.iinfo(np.int64).max, np.int64)
    box_max = np.full_like(box_min, np.iinfo(np.int64).min)
    np.minimum.at(box_min, inverse, np.concatenate([p.box_min for p in parts]))
    np.maximum.at(box_max, inverse, np.concatenate([p.box_max for p in parts]))
    return InstanceSums(
        ids,
        added("npixels"),
        added("coordinate_sums"),
        box_min,
        box_max,
        added("transitions"),
        added("class_ids"),
    )


def measurements_from_sums(sums: InstanceSums, spacing: Sequence[float]) -> pd.DataFrame:
    """The 3D columns of :func:`stages.measure.measure_instances` (label, centres, npixels,
    volume, area, diameter, surface_area, sphericity; ``class`` with class counts)."""
    ndim = sums.coordinate_sums.shape[1]
    if ndim != 3:
        raise ValueError("measurements by blocks are 3D only (the 2D perimeter is not a sum)")
    spacing = np.asarray(spacing, dtype=np.float64)
    frame = pd.DataFrame({"label": sums.ids})
    for axis, name in enumerate(("z", "y", "x")):
        frame[f"center_{name}"] = sums.coordinate_sums[:, axis] / sums.npixels
    frame["npixels"] = sums.npixels
    volume = sums.npixels * float(np.prod(spacing))
    frame["volume"] = volume
    frame["area"] = volume
    frame["diameter"] = (sums.box_max - sums.box_min + 1).max(axis=1)
    weights = _crofton_weights(tuple(float(s) for s in spacing))
    per_line = float(np.prod(spacing)) / np.linalg.norm(_DIRECTIONS * spacing, axis=1)
    surface = 4.0 * (sums.transitions * (weights * per_line / 2)).sum(axis=1)
    frame["surface_area"] = surface
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["sphericity"] = np.where(surface > 0, 36 * np.pi * volume**2 / surface**3, 0.0)
    if sums.class_ids.shape[1]:
        from .labels.classes import DEFAULT_CLASS

        # as instance_classes: the majority of the voxels of a class above 0, ties to the smaller
        counted = sums.class_ids[:, 1:]
        majority = counted.argmax(axis=1) + 1
        frame["class"] = np.where(counted.sum(axis=1) > 0, majority, DEFAULT_CLASS)
    return frame


#: block sums merged into the running total this many at a time
MERGE_EVERY = 32


def _select(sums: InstanceSums, keep: np.ndarray) -> InstanceSums:
    return InstanceSums(*(getattr(sums, f)[keep] for f in InstanceSums.__dataclass_fields__))


def measurement_tables(
    labels,
    block: Sequence[int],
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    classes=None,
    n_classes: int = 0,
) -> Iterator[pd.DataFrame]:
    """Measure a 3D label volume (an array, or a Zarr/HDF5 array read block by block), each
    block read once with one voxel of context, in parts: after each layer of blocks along Z,
    the instances that end in it (none of their voxels in the slice after it, which the
    blocks read as context), by label. Every instance is in one part; only the instances open
    across a layer's face are held."""
    shape = labels.shape
    open_sums: InstanceSums | None = None
    for z in range(0, shape[0], block[0]):
        parts = [] if open_sums is None else [open_sums]
        continuing = []  # ids in the slice after the layer: their instances go on
        for rest in itertools.product(*(range(0, s, b) for s, b in zip(shape[1:], block[1:]))):
            corner = (z, *rest)
            low = [max(c - 1, 0) for c in corner]
            high = [min(c + b + 1, s) for c, b, s in zip(corner, block, shape)]
            box = tuple(slice(a, b) for a, b in zip(low, high))
            pad = [
                (1 - (c - a), (min(c + b, s) + 1) - h)
                for c, a, h, b, s in zip(corner, low, high, block, shape)
            ]
            read = np.pad(np.asarray(labels[box]), pad)
            read_classes = None if classes is None else np.pad(np.asarray(classes[box]), pad)
            continuing.append(np.unique(read[-1]))
            found = block_sums(read, corner, read_classes, n_classes)
            found = _select(found, found.npixels > 0)  # ids seen in the context only
            if len(found.ids):
                parts.append(found)
            if len(parts) == MERGE_EVERY:
                parts = [merge_sums(parts)]
        if not parts:
            continue
        merged = merge_sums(parts)
        ended = ~np.isin(merged.ids, np.concatenate(continuing))
        if ended.any():
            yield measurements_from_sums(_select(merged, ended), spacing)
        open_sums = _select(merged, ~ended) if not ended.all() else None


def blockwise_measurements(
    labels,
    block: Sequence[int],
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    classes=None,
    n_classes: int = 0,
    extra_properties: Sequence[str] = (),
) -> pd.DataFrame:
    """:func:`measurement_tables` as one table, by label, with the regionprops
    ``extra_properties`` of :func:`extra_properties_by_regions` as more columns (as
    :func:`stages.measure.measure_instances` adds them)."""
    tables = list(measurement_tables(labels, block, spacing, classes, n_classes))
    if not tables:
        table = empty_measurements(spacing, n_classes)
        for name in extra_properties:
            table[name] = []
        return table
    table = pd.concat(tables, ignore_index=True).sort_values("label", ignore_index=True)
    if extra_properties:
        from .labels import label_boxes_by_blocks

        boxes = label_boxes_by_blocks(labels, block)
        extra = extra_properties_by_regions(labels, boxes, extra_properties, block, spacing)
        table = table.merge(extra, on="label", how="left")
    return table


def empty_measurements(spacing: Sequence[float], n_classes: int = 0) -> pd.DataFrame:
    """The measurement columns with no row (a volume without instances)."""
    return measurements_from_sums(_empty(3, n_classes), spacing)


def _object_array(items: list) -> np.ndarray:
    """A 1-D object array of ``items`` (numpy would stack arrays of one shape into one)."""
    out = np.empty(len(items), dtype=object)
    for index, item in enumerate(items):
        out[index] = item
    return out


def _offset_positions(table: dict, origin: Sequence[int], spacing: Sequence[float]) -> dict:
    """regionprops_table columns of a region at ``origin`` moved to the volume's coordinates:
    the properties that say where an instance is (its box, centroid, pixels, slice); the
    others describe its shape and do not change."""
    ndim = len(origin)
    start = np.asarray(origin)
    moved = dict(table)
    for name, values in table.items():
        stem, _, index = name.rpartition("-")
        if stem == "bbox":
            moved[name] = values + origin[int(index) % ndim]
        elif stem == "centroid":
            moved[name] = values + origin[int(index)] * spacing[int(index)]
        elif name == "coords":
            moved[name] = _object_array([c + start for c in values])
        elif name == "coords_scaled":
            moved[name] = _object_array([c + start * np.asarray(spacing) for c in values])
        elif name == "slice":
            moved[name] = _object_array(
                [tuple(slice(s.start + o, s.stop + o, s.step) for s, o in zip(one, origin))
                 for one in values]
            )  # fmt: skip
    return moved


def extra_properties_by_regions(
    labels,
    boxes: dict[int, tuple[slice, ...]],
    properties: Sequence[str],
    block: Sequence[int],
    spacing: Sequence[float] | None = None,
) -> pd.DataFrame:
    """scikit-image ``regionprops`` ``properties`` of every instance of ``labels`` (an array,
    or a Zarr/HDF5 array read by regions), with a ``label`` column, by label: the values
    measuring the whole volume gives.

    Instances are grouped by the ``block`` holding the first corner of their box (``boxes``:
    id -> box, :func:`stages.labels.label_boxes_by_blocks`); each group's
    region, the union of its boxes (at most a block and one instance's extent along each axis),
    is read once and measured with the other instances in it blanked out.
    """
    from skimage.measure import regionprops_table

    ndim = len(labels.shape)
    spacing = tuple(float(s) for s in (spacing or (1.0,) * ndim))
    groups: dict[tuple[int, ...], list[int]] = {}
    for label_id, box in boxes.items():
        key = tuple(s.start // b for s, b in zip(box, block))
        groups.setdefault(key, []).append(label_id)
    tables = []
    for ids in groups.values():
        starts = [min(boxes[i][axis].start for i in ids) for axis in range(ndim)]
        stops = [max(boxes[i][axis].stop for i in ids) for axis in range(ndim)]
        region = np.asarray(labels[tuple(slice(a, b) for a, b in zip(starts, stops))])
        region = np.where(np.isin(region, ids), region, 0)
        table = regionprops_table(region, properties=["label", *properties], spacing=spacing)
        tables.append(pd.DataFrame(_offset_positions(table, starts, spacing)))
    if not tables:
        return pd.DataFrame({name: [] for name in ["label", *properties]})
    return pd.concat(tables, ignore_index=True).sort_values("label", ignore_index=True)
