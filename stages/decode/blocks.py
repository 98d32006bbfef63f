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


def block_corners(shape: Sequence[int], block: Sequence[int]) -> Iterator[tuple[int, ...]]:
    """The first voxel of every block of ``block`` tiling ``shape``, in C order."""
    yield from itertools.product(*(range(0, s, b) for s, b in zip(shape, block)))


def decode_by_blocks(
    channels,
    block: Sequence[int],
    halo: Sequence[int],
    decode: Callable[[np.ndarray], np.ndarray],
    out=None,
) -> BlockDecoding:
    """Instances of (C, *S) ``channels`` (an array, or a lazy one that slices) decoded block
    by block with ``decode`` (channels of a region in, its labels out).

    ``out``: a zeroed uint32 array of the spatial shape to write into, in memory or on disk
    (a Zarr array: each block's objects are written as they are found, so that no whole
    label volume is held); by default a new array."""
    shape = tuple(channels.shape[1:])
    if not (len(block) == len(halo) == len(shape)):
        raise ValueError(f"block {block} and halo {halo} need one value per axis of {shape}")
    if out is None:
        out = np.zeros(shape, dtype=np.uint32)
    elif tuple(out.shape) != shape:
        raise ValueError(f"labels of shape {tuple(out.shape)} cannot hold channels of {shape}")
    next_id, cut = 1, 0
    for corner in block_corners(shape, block):
        core = [(c, min(c + b, s)) for c, b, s in zip(corner, block, shape)]
        region = [(max(lo - h, 0), min(hi + h, s)) for (lo, hi), h, s in zip(core, halo, shape)]
        read = tuple(slice(lo, hi) for lo, hi in region)
        local = np.asarray(decode(np.asarray(channels[(slice(None), *read)])))
        local, _, _ = _sequential(local)
        boxes = ndi.find_objects(local)
        keep = np.zeros(len(boxes) + 1, dtype=np.uint32)
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
            keep[index] = next_id
            next_id += 1
        owned = keep[local]
        written = ndi.find_objects((owned > 0).astype(np.uint8))
        if written and written[0] is not None:
            # read and write back only the box of this block's objects (out may be on disk)
            box = written[0]
            place = tuple(slice(r.start + b.start, r.start + b.stop) for r, b in zip(read, box))
            target = np.asarray(out[place])
            np.copyto(target, owned[box], where=owned[box] > 0)
            out[place] = target
    return BlockDecoding(out, next_id - 1, cut)


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
    :func:`decode_by_blocks`).

    The watershed's 'auto' thresholds are fixed on the whole channels first (a block's own Otsu
    cut would differ) and its fragment merging, relative to the median instance size of the
    whole image, is off. The decoded settings record the blocks and how many instances reached
    a halo's edge (``by_blocks``).
    """
    from dataclasses import replace

    from ..channels import plane_code
    from ..labels.classes import classes_by_majority
    from . import DECODERS, Decoded, decode_channels, decoder_for, split_class_planes
    from .watershed import fixed_thresholds

    values, value_planes, class_map = split_class_planes(channels, planes)
    codes = list(dict.fromkeys(plane_code(p) for p in value_planes))
    name = decoder_for(codes, requested)
    decoders = dict(decoders or {})
    if name == "watershed":
        chosen = decoders.get(name) or DECODERS[name].settings()
        # read block by block when the channels are on disk (never a whole channel)
        boxes = None if isinstance(values, np.ndarray) else block_boxes(values.shape[1:], block)
        decoders[name] = replace(
            fixed_thresholds(values, value_planes, chosen, boxes), fragment_fraction=0.0
        )
    if class_map is not None and out is not None:
        raise ValueError(
            "the classes of a class head are taken on whole label images: decode into a TIFF"
        )
    found = decode_by_blocks(
        values,
        block,
        halo,
        lambda region: (
            decode_channels(region, value_planes, decoders, channel_options, requested=name).labels
        ),
        out=out,
    )
    used = {
        "decoder": name,
        "by_blocks": {
            "block": list(block),
            "halo": list(halo),
            "cut": found.cut,
            "objects": found.objects,
        },
    }
    if name == "watershed":
        used["seed_thresholds"] = list(decoders[name].seed_thresholds)
        used["growth_thresholds"] = list(decoders[name].growth_thresholds)
    decoded = Decoded(found.labels, name, used)
    if class_map is not None:
        decoded.classes = classes_by_majority(decoded.labels, class_map)
    return decoded
