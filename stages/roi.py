"""Regions of interest (BiaPy's DATA.TEST.ROI_MASK): the predicted channels zeroed outside a
mask before decoding, so that no instance is found there.

A mask of any shape is mapped onto the image by scaling each axis (voxel ``i`` of an axis of
``s`` voxels takes the mask's voxel ``i * m // s`` of ``m``), so a coarse mask, one voxel per
block of the image, is enough; a mask of the image's shape is used as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def roi_region(
    mask: np.ndarray, shape: Sequence[int], box: Sequence[slice] | None = None
) -> np.ndarray:
    """The boolean region of interest over ``box`` (the whole image by default) of an image of
    spatial ``shape``, from ``mask`` (non-zero inside) of the same rank."""
    if mask.ndim != len(shape):
        raise ValueError(f"a {mask.ndim}D region of interest for a {len(shape)}D image")
    box = tuple(box) if box is not None else tuple(slice(0, s) for s in shape)
    index = [np.arange(*b.indices(s)[:2]) * m // s for b, m, s in zip(box, mask.shape, shape)]
    return mask[np.ix_(*index)] != 0


class ChannelsInRegion:
    """(C, *S) channels (an array or a lazy one that slices) read as zero outside the region
    of interest: indexed by ``(plane or slice(None), *box)`` as the block decoders read."""

    def __init__(self, channels, mask: np.ndarray):
        self.channels, self.mask = channels, mask
        self.shape = tuple(channels.shape)
        self.ndim, self.dtype = len(self.shape), np.dtype(np.float32)

    def __getitem__(self, index) -> np.ndarray:
        index = index if isinstance(index, tuple) else (index,)
        spatial = self.shape[1:]
        box = tuple(index[1:]) + (slice(None),) * (len(spatial) - len(index[1:]))
        box = tuple(slice(*b.indices(s)[:2]) for b, s in zip(box, spatial))
        values = np.asarray(self.channels[(index[0], *box)], dtype=np.float32)
        return values * roi_region(self.mask, spatial, box)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        values = self[(slice(None),)]
        return values if dtype is None else values.astype(dtype, copy=False)


def roi_mask_file(path: str | Path, image: str) -> Path:
    """The mask of test image ``image`` (its name without suffix): ``path`` itself when a file,
    a folder's only image, or the folder's image of that name; ValueError naming both."""
    from .containers import is_container
    from .io import list_images

    path = Path(path)
    if not path.exists():
        raise ValueError(f"region of interest {path} does not exist")
    if path.is_file() or is_container(path):
        return path
    masks = list_images(path, "region of interest folder")
    if len(masks) == 1:
        return masks[0]
    named = [m for m in masks if m.stem == image]
    if not named:
        raise ValueError(
            f"{path} holds {len(masks)} masks and none named {image!r} for that test image"
        )
    return named[0]


def read_roi_mask(path: str | Path, ndim: int, axes: str | None = None) -> np.ndarray:
    """A mask image (TIFF, Zarr, HDF5) of rank ``ndim`` (a trailing axis of one channel
    dropped); ``axes``: DATA.TEST.ROI_MASK.AXES_ORDER for a container."""
    from .io import read_image

    mask, _ = read_image(path, ndim, axes or None)
    if mask.ndim == ndim + 1 and mask.shape[-1] == 1:
        mask = mask[..., 0]
    if mask.ndim != ndim:
        raise ValueError(f"{path}: region of interest of shape {mask.shape} is not {ndim}D")
    return mask
