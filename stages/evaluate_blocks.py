"""Matching metrics and channel IoUs of label volumes read block by block, never whole.

The pixel counts of disjoint blocks add up (:mod:`stages.overlap_counts`), so the matching of
two volumes read by blocks equals :func:`stages.metrics.match_instances` on the whole
volumes, whatever the block. The channel IoUs encode the ground truth of each block grown by
a halo: equal to the whole image's for every object whose extent is at most the halo (a
centre point or a contour is taken on its whole object).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .decode.blocks import block_boxes
from .io import InputError
from .metrics import Matching, association_image, channel_cell_counts

#: voxels per evaluation block: with its halo of context for the channel IoUs, a block holds a
#: few million voxels (measured flat within 12% from 8 M to 64 M voxels, where 4 M-voxel blocks
#: grew 39%: benchmarks/RESULTS.md)
EVALUATION_BLOCK_VOXELS = 2**20

#: the side of the smallest block along each axis when no patch sets a unit (blocks are then
#: powers of two, as the chunks of most stores are)
BLOCK_UNIT = 1


def evaluation_block(
    shape: Sequence[int], unit: Sequence[int], budget: int | None = None
) -> tuple[int, ...]:
    """A block of whole ``unit`` steps (patch cells, say) and at most ``budget`` voxels (but at
    least one unit), doubled along each axis in turn, the last first, until it holds the image
    along that axis. ``budget`` None: :data:`EVALUATION_BLOCK_VOXELS`."""
    budget = EVALUATION_BLOCK_VOXELS if budget is None else budget
    block = [max(1, int(u)) for u in unit]
    grown = True
    while grown:
        grown = False
        for axis in reversed(range(len(block))):
            if block[axis] < shape[axis] and np.prod(block, dtype=np.int64) * 2 <= budget:
                block[axis] *= 2
                grown = True
    return tuple(block)


class LabelBlocks:
    """The instance ids of a label image read by regions: the first channel of a region reader
    (a class channel is left out), each region checked as labels (errors name the file)."""

    def __init__(self, reader, path: str | Path):
        self.reader, self.path = reader, Path(path)
        self.shape = tuple(reader.shape[:-1])
        self.has_classes = reader.shape[-1] == 2

    def __getitem__(self, box) -> np.ndarray:
        from .labels import check_labels

        try:
            return check_labels(np.asarray(self.reader[tuple(box)])[..., 0], "labels")
        except ValueError as error:
            raise InputError(f"{self.path}: {error}") from None

    def close(self) -> None:
        self.reader.close()


def open_label_blocks(path: str | Path, ndim: int, axes: str | None = None) -> LabelBlocks:
    """A label image (Zarr, OME-Zarr, HDF5, TIFF) opened for reading by regions; ids, or ids
    then classes (BiaPy's two-channel labels). ``axes``: INPUT_MASK_AXES_ORDER."""
    from .image_regions import open_raw_regions

    reader, _ = open_raw_regions(path, ndim, axes, what="label image")
    if reader.shape[-1] not in (1, 2):
        reader.close()
        raise InputError(
            f"{path}: label image with {reader.shape[-1]} channels (ids, or ids then classes)"
        )
    return LabelBlocks(reader, path)


def write_association_blocks(gt, pred, matching: Matching, block: Sequence[int], out) -> None:
    """:func:`stages.metrics.association_image` written block by block into ``out`` (an
    array of shape (*S, 3) that takes slices: a Zarr array)."""
    for box in block_boxes(gt.shape, block):
        out[box] = association_image(gt[box], pred[box], matching)


def blockwise_channel_counts(
    channels,
    planes: Sequence[str],
    truth,
    channel_options: dict | None,
    block: Sequence[int],
    halo: Sequence[int],
    threshold: float = 0.5,
    patches: Sequence[Sequence[int] | None] = (None,),
) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """:func:`stages.metrics.channel_cell_counts` of channels ((C, *S), sliceable) against
    labels read block by block, each block's truth encoded with ``halo`` around it.

    Per patch cell counts need ``block`` to be whole multiples of each patch: each cell then
    lies in one block.
    """
    for patch in patches:
        if patch is not None and any(b % p for b, p in zip(block, patch)):
            raise ValueError(f"block {list(block)} is not a multiple of the patch {list(patch)}")
    shape = tuple(truth.shape)
    total: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for box in block_boxes(shape, block):
        grown = tuple(
            slice(max(b.start - h, 0), min(b.stop + h, s)) for b, h, s in zip(box, halo, shape)
        )
        inner = tuple(slice(b.start - g.start, b.stop - g.start) for b, g in zip(box, grown))
        found = channel_cell_counts(
            channels[(slice(None), *box)],
            planes,
            truth[grown],
            channel_options,
            threshold,
            patches,
            inner=inner,
        )
        for code, per_patch in found.items():
            if code not in total:
                total[code] = per_patch
                continue
            total[code] = [
                (shared + more_shared, joined + more_joined)
                if patch is None
                else (np.concatenate([shared, more_shared]), np.concatenate([joined, more_joined]))
                for patch, (shared, joined), (more_shared, more_joined) in zip(
                    patches, total[code], per_patch
                )
            ]
    return total
