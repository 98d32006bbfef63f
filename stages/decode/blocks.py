"""Decode a volume block by block without seams: each object owned by exactly one block.

Every block is decoded with a halo of context around it. An object found there belongs
to the block whose core holds its anchor, the first corner of its bounding box, and is
written once under one global id; the other blocks that see it drop it. A decoder whose
result for an object depends only on the channels within ``r`` voxels of it (the watershed
with fixed thresholds: seeds, growth mask and flooding are local) gives, for every object
of extent at most ``e`` along each axis, the same object as decoding the whole volume when
the halo is at least ``2 e + r``: the object, and every neighbour that competes for its
voxels, lies inside the decoded region. Larger objects may come out cut where they leave
the region; they are counted, so that the caller can warn and raise the halo.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi


@dataclass(frozen=True)
class BlockDecoding:
    labels: np.ndarray  # the volume's instances, ids 1..n in block order
    objects: int
    cut: int  # objects that reached the edge of their decoded region (larger than the halo)
    box: tuple[slice, ...] | None = None  # the box holding every object written; None: none


def block_corners(shape: Sequence[int], block: Sequence[int]) -> Iterator[tuple[int, ...]]:
    """The first voxel of every block of ``block`` tiling ``shape``, in C order."""
    yield from itertools.product(*(range(0, s, b) for s, b in zip(shape, block)))


def decode_by_blocks(
    channels,
    block: Sequence[int],
    halo: Sequence[int],
    decode: Callable[[np.ndarray], np.ndarray],
    out=None,
    blocks: Sequence[int] | None = None,
) -> BlockDecoding:
    """Instances of (C, *S) ``channels`` (an array, or a lazy one that slices) decoded block
    by block with ``decode`` (channels of a region in, its labels out).

    ``out``: a zeroed uint32 array of the spatial shape to write into, in memory or on disk
    (a Zarr array: each block's objects are written as they are found, so that no whole
    label volume is held); by default a new array. ``blocks``: the indices (C order) of the
    blocks to decode, by default all; a job decoding some of them writes a part that
    :func:`merge_block_parts` joins with the others' into the labels of decoding them all.
    """
    shape = tuple(channels.shape[1:])
    if not (len(block) == len(halo) == len(shape)):
        raise ValueError(f"block {block} and halo {halo} need one value per axis of {shape}")
    if out is None:
        out = np.zeros(shape, dtype=np.uint32)
    elif tuple(out.shape) != shape:
        raise ValueError(f"labels of shape {tuple(out.shape)} cannot hold channels of {shape}")
    corners = list(block_corners(shape, block))
    chosen = range(len(corners)) if blocks is None else blocks
    next_id, cut, written = 1, 0, None
    for index in chosen:
        owned = owned_objects(channels, corners[index], block, halo, decode)
        cut += owned.cut
        if owned.box is None:
            continue
        # read and write back only the box of this block's objects (out may be on disk)
        target = np.asarray(out[owned.box])
        np.copyto(target, owned.labels + np.uint32(next_id - 1), where=owned.labels > 0)
        out[owned.box] = target
        next_id += owned.count
        written = owned.box if written is None else _union(written, owned.box)
    return BlockDecoding(out, next_id - 1, cut, written)


@dataclass(frozen=True)
class OwnedObjects:
    """The objects one block owns, decoded with its halo."""

    labels: np.ndarray  # uint32 over ``box``: ids 1..count in the order of their anchors
    box: tuple[slice, ...] | None  # where ``labels`` lie in the volume; None: no object
    count: int
    cut: int  # owned objects that reached the edge of the decoded region


def owned_objects(
    channels,
    corner: Sequence[int],
    block: Sequence[int],
    halo: Sequence[int],
    decode: Callable[[np.ndarray], np.ndarray],
) -> OwnedObjects:
    """Decode the block at ``corner`` with ``halo`` of context and keep the objects whose
    anchor (first corner of the bounding box) lies in the block."""
    shape = tuple(channels.shape[1:])
    core = [(c, min(c + b, s)) for c, b, s in zip(corner, block, shape)]
    region = [(max(lo - h, 0), min(hi + h, s)) for (lo, hi), h, s in zip(core, halo, shape)]
    read = tuple(slice(lo, hi) for lo, hi in region)
    local = np.asarray(decode(np.asarray(channels[(slice(None), *read)])))
    local, _, _ = _sequential(local)
    boxes = ndi.find_objects(local)
    keep = np.zeros(len(boxes) + 1, dtype=np.uint32)
    count, cut = 0, 0
    for index, box in enumerate(boxes, start=1):
        if box is None:
            continue
        anchor = [r[0] + b.start for r, b in zip(region, box)]
        if not all(lo <= a < hi for a, (lo, hi) in zip(anchor, core)):
            continue  # another block owns it
        reaches_edge = any(
            (b.start == 0 and r[0] > 0) or (r[0] + b.stop == r[1] and r[1] < s)
            for b, r, s in zip(box, region, shape)
        )
        cut += int(reaches_edge)
        count += 1
        keep[index] = count
    owned = keep[local]
    found = ndi.find_objects((owned > 0).astype(np.uint8))
    if not found or found[0] is None:
        return OwnedObjects(np.zeros((0,) * len(shape), np.uint32), None, 0, cut)
    box = found[0]
    place = tuple(slice(r.start + b.start, r.start + b.stop) for r, b in zip(read, box))
    return OwnedObjects(owned[box], place, count, cut)


@dataclass(frozen=True)
class BlockPart:
    """What one job wrote: the objects of some blocks, ids 1..objects (see decode_by_blocks)."""

    labels: object  # an array of the volume's shape (a Zarr on disk), 0 where none was written
    objects: int
    box: tuple[slice, ...] | None  # the box holding every object written; None: none


def merge_block_parts(parts: Sequence[BlockPart], out, block: Sequence[int]) -> int:
    """Join the parts written by jobs that each decoded a consecutive run of blocks, in the
    order of their blocks, into ``out`` (zeroed): the ids of a part follow those of the parts
    before it, and a part's objects overwrite the earlier ones' where they meet, so that the
    labels equal decoding every block in one :func:`decode_by_blocks`. ``out`` is written
    block by block (``block``: the sides its chunks divide), reading of each part only the
    blocks its box meets. Returns the number of objects."""
    shape = tuple(out.shape)
    offsets = np.cumsum([0] + [p.objects for p in parts])
    for box in block_boxes(shape, block):
        target = None
        for part, offset in zip(parts, offsets):
            if part.box is None or not _meets(box, part.box):
                continue
            values = np.asarray(part.labels[box])
            if target is None:
                target = np.zeros(values.shape, np.uint32)
            np.copyto(target, values + np.uint32(offset), where=values > 0)
        if target is not None:
            out[box] = target
    return int(offsets[-1])


def _union(first: tuple[slice, ...], second: tuple[slice, ...]) -> tuple[slice, ...]:
    return tuple(slice(min(a.start, b.start), max(a.stop, b.stop)) for a, b in zip(first, second))


def _meets(first: tuple[slice, ...], second: tuple[slice, ...]) -> bool:
    return all(a.start < b.stop and b.start < a.stop for a, b in zip(first, second))


def block_boxes(shape: Sequence[int], block: Sequence[int]) -> list[tuple[slice, ...]]:
    """The blocks of ``block`` tiling ``shape`` (the last ones cut at the end), in C order."""
    return [
        tuple(slice(c, min(c + b, s)) for c, b, s in zip(corner, block, shape))
        for corner in block_corners(shape, block)
    ]


def _sequential(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Ids 1..n in the order of the ids present (find_objects then sizes by n, not max id)."""
    ids, inverse = np.unique(labels, return_inverse=True)
    if ids[0] != 0:
        inverse = inverse + 1
        ids = np.r_[0, ids]
    return inverse.reshape(labels.shape).astype(np.int64), ids, len(ids) - 1


def block_decoders(
    channels,
    planes: list[str],
    block: Sequence[int],
    decoders: dict | None = None,
    requested: str = "",
) -> tuple[str, dict]:
    """The decoder of (C, *S) instance ``channels`` (no class planes) and the settings to
    decode them by blocks with: the watershed's 'auto' thresholds fixed on the whole channels
    (a block's own Otsu cut would differ; read block by block when the channels are on disk)
    and its fragment merging, relative to the median instance size of the whole image, off.
    Every job decoding some of the blocks must use the same settings."""
    from dataclasses import replace

    from ..channels import plane_code
    from . import DECODERS, decoder_for
    from .watershed import fixed_thresholds

    codes = list(dict.fromkeys(plane_code(p) for p in planes))
    name = decoder_for(codes, requested)
    decoders = dict(decoders or {})
    if name == "watershed":
        chosen = decoders.get(name) or DECODERS[name].settings()
        boxes = None if isinstance(channels, np.ndarray) else block_boxes(channels.shape[1:], block)
        decoders[name] = replace(
            fixed_thresholds(channels, planes, chosen, boxes), fragment_fraction=0.0
        )
    return name, decoders


def decode_blocks_with(
    channels,
    planes: list[str],
    block: Sequence[int],
    halo: Sequence[int],
    name: str,
    decoders: dict,
    channel_options: dict | None = None,
    out=None,
    blocks: Sequence[int] | None = None,
) -> BlockDecoding:
    """:func:`decode_by_blocks` with the decoder ``name`` and the settings of
    :func:`block_decoders`."""
    from . import decode_channels

    return decode_by_blocks(
        channels,
        block,
        halo,
        lambda region: (
            decode_channels(region, planes, decoders, channel_options, requested=name).labels
        ),
        out=out,
        blocks=blocks,
    )


def block_settings(name: str, decoders: dict, block, halo, objects: int, cut: int) -> dict:
    """What decoding by blocks used and found (``cut``: objects that reached a halo's edge),
    for the labels' metadata."""
    used = {
        "decoder": name,
        "by_blocks": {
            "block": list(block),
            "halo": list(halo),
            "cut": cut,
            "objects": objects,
        },
    }
    if name == "watershed":
        used["seed_thresholds"] = list(decoders[name].seed_thresholds)
        used["growth_thresholds"] = list(decoders[name].growth_thresholds)
    return used


def decode_channels_by_blocks(
    channels: np.ndarray,
    planes: list[str],
    block: Sequence[int],
    halo: Sequence[int],
    decoders: dict | None = None,
    channel_options: dict | None = None,
    requested: str = "",
    out=None,
):
    """:func:`stages.decode.decode_channels`, block by block (into ``out`` when given: see
    :func:`decode_by_blocks`), with the settings of :func:`block_decoders`. The decoded
    settings record the blocks and how many instances reached a halo's edge (``by_blocks``).
    """
    from ..labels.classes import classes_by_majority
    from . import Decoded, split_class_planes

    values, value_planes, class_map = split_class_planes(channels, planes)
    if class_map is not None and out is not None:
        raise ValueError(
            "the classes of a class head are taken on whole label images: decode into a TIFF"
        )
    name, decoders = block_decoders(values, value_planes, block, decoders, requested)
    found = decode_blocks_with(
        values, value_planes, block, halo, name, decoders, channel_options, out=out
    )
    decoded = Decoded(
        found.labels, name, block_settings(name, decoders, block, halo, found.objects, found.cut)
    )
    if class_map is not None:
        decoded.classes = classes_by_majority(decoded.labels, class_map)
    return decoded
