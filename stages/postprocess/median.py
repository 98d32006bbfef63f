"""Median filtering of predicted channels along chosen axes (BiaPy's MEDIAN_FILTER, and the
Z_FILTERING and YZ_FILTERING of its older configs).

A median along Z smooths what the network predicted slice by slice into agreement across
slices, so a nucleus does not vanish in one slice and reappear in the next.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage as ndi

#: the axis sets a filter can run along (BiaPy's names; the order of the letters is free)
MEDIAN_AXES = ("xy", "yx", "zy", "yz", "zx", "xz", "z")


def median_footprint(axes: str, size: int, ndim: int) -> tuple[int, ...]:
    """The filter's size per spatial axis: ``size`` along ``axes``, 1 elsewhere.

    An even ``size`` is made odd (``size + 1``), as BiaPy does, so the window is centred.

    Raises
    ------
    ValueError
        An unknown axis set, a size below 1, or an axis set with z on 2D data.
    """
    if axes not in MEDIAN_AXES:
        raise ValueError(f"unknown median filter axes {axes!r}; valid: {', '.join(MEDIAN_AXES)}")
    if size < 1:
        raise ValueError(f"a median filter size must be at least 1, got {size}")
    if "z" in axes and ndim != 3:
        raise ValueError(f"median filter axes {axes!r} need 3D data (Z,Y,X), got {ndim}D")
    size = size + 1 if size % 2 == 0 else size
    names = ("z", "y", "x")[-ndim:]
    return tuple(size if name in axes else 1 for name in names)


def median_filter_channels(channels: np.ndarray, filters: Sequence[tuple[str, int]]) -> np.ndarray:
    """Apply each ``(axes, size)`` median filter in order to every plane of ``channels``.

    Parameters
    ----------
    channels
        Predicted channels, (C, Y, X) or (C, Z, Y, X).
    filters
        ``(axes, size)`` pairs such as ``("z", 5)`` or ``("yz", 3)``, applied in order.

    Returns
    -------
    The filtered channels, same shape and dtype (a new array).
    """
    ndim = channels.ndim - 1
    if ndim not in (2, 3):
        raise ValueError(f"channels must be (C, Y, X) or (C, Z, Y, X), got shape {channels.shape}")
    footprints = [median_footprint(axes, int(size), ndim) for axes, size in filters]
    out = channels.copy()
    for footprint in footprints:
        for index in range(out.shape[0]):
            # scipy's default border (reflect), as in BiaPy: the same values at the edges
            out[index] = ndi.median_filter(out[index], size=footprint)
    return out


def median_filter_by_blocks(
    channels, filters: Sequence[tuple[str, int]], block: Sequence[int], out
) -> None:
    """:func:`median_filter_channels` of (C, *S) ``channels`` (an array, or a lazy one that
    slices: a Zarr read block by block) written into ``out`` block by block. Each block is
    filtered with a margin of every filter's half window summed, so that what reaches its core
    is what filtering the whole image gives (at the image's edges the margin is cut and the
    filters reflect, as on the whole image): the same values, never the whole image held."""
    from ..decode.blocks import block_boxes

    shape = tuple(channels.shape[1:])
    if len(block) != len(shape):
        raise ValueError(f"block {list(block)} needs one size per spatial axis of {shape}")
    footprints = [median_footprint(axes, int(size), len(shape)) for axes, size in filters]
    margin = [sum(f[axis] // 2 for f in footprints) for axis in range(len(shape))]
    for box in block_boxes(shape, block):
        region = tuple(
            slice(max(b.start - m, 0), min(b.stop + m, s)) for b, m, s in zip(box, margin, shape)
        )
        values = np.asarray(channels[(slice(None), *region)], dtype=np.float32)
        filtered = median_filter_channels(values, filters)
        core = tuple(slice(b.start - r.start, b.stop - r.start) for b, r in zip(box, region))
        out[(slice(None), *box)] = filtered[(slice(None), *core)]
