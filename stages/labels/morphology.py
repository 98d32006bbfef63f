"""Label-aware morphology shared by the encoders, the watershed and refinement."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._lazy import lazy_import

# scipy and scikit-image load at first use: `segpipe predict` reads this module only for
# its metadata (see stages._lazy)
ndi = lazy_import("scipy.ndimage")

#: a radius, or one per axis (an ellipsoid)
Radius = int | Sequence[int]


def radii(radius: Radius, ndim: int) -> tuple[int, ...]:
    """One radius per axis: ``radius`` itself when it is one per axis, else repeated."""
    if isinstance(radius, int | np.integer):
        return (int(radius),) * ndim
    if len(radius) != ndim:
        raise ValueError(f"{len(radius)} radii for {ndim} axes: {list(radius)}")
    return tuple(int(r) for r in radius)


def has_extent(radius: Radius) -> bool:
    """Whether a radius (or any of its per-axis radii) is above 0."""
    return max(np.atleast_1d(radius), default=0) > 0


def ball(radius: Radius, ndim: int) -> np.ndarray:
    """Boolean Euclidean ball footprint of ``radius`` in ``ndim`` dimensions (a point for 0);
    with one radius per axis, the ellipsoid of those half-axes (an axis of 0 stays flat)."""
    per_axis = radii(radius, ndim)
    axes = np.ogrid[tuple(slice(-r, r + 1) for r in per_axis)]
    if len(set(per_axis)) == 1:
        r = per_axis[0]
        return sum(a.astype(np.int64) ** 2 for a in axes) <= r * r
    inside = np.zeros(tuple(2 * r + 1 for r in per_axis), dtype=np.float64)
    for a, r in zip(axes, per_axis, strict=True):
        if r > 0:
            inside = inside + (a / r) ** 2
    return inside <= 1 + 1e-9


def erode_labels(labels: np.ndarray, radius: Radius) -> np.ndarray:
    """Erode every instance by ``radius`` without any instance growing.

    A pixel keeps its label only if every pixel within ``radius`` carries the same
    label, so touching instances separate and ids are never truncated.
    """
    if not has_extent(radius):
        return labels.copy()
    footprint = ball(radius, labels.ndim)
    low = ndi.minimum_filter(labels, footprint=footprint, mode="nearest")
    high = ndi.maximum_filter(labels, footprint=footprint, mode="nearest")
    return np.where((low == labels) & (high == labels), labels, 0).astype(labels.dtype, copy=False)


def dilate_mask(mask: np.ndarray, radius: Radius) -> np.ndarray:
    if not has_extent(radius):
        return mask.copy()
    return ndi.binary_dilation(mask, structure=ball(radius, mask.ndim))


def erode_mask(mask: np.ndarray, radius: Radius, *, border_value: int = 1) -> np.ndarray:
    if not has_extent(radius):
        return mask.copy()
    return ndi.binary_erosion(mask, structure=ball(radius, mask.ndim), border_value=border_value)


def as_volume(array: np.ndarray, dtype=None) -> np.ndarray:
    """(Z, Y, X) contiguous view of a 2D or 3D array (2D as one slice), for the compiled kernels."""
    array = np.ascontiguousarray(array, dtype=dtype)
    return array[np.newaxis] if array.ndim == 2 else array


def label_sizes_and_centroids(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Voxel count (n+1,) and centroid (n+1, ndim) of every id 0..max, in one compiled pass.

    Ids that are absent have size 0 and centroid 0; row 0 (background) is not computed.
    """
    from ._kernels import coordinate_sums

    count = int(labels.max(initial=0)) + 1
    sizes, sums = coordinate_sums(as_volume(labels), count)
    centroids = sums / np.maximum(sizes, 1)[:, None]
    return sizes, centroids[:, 3 - labels.ndim :]


def face_boundaries(labels: np.ndarray, *, foreground_only: bool = False) -> np.ndarray:
    """Pixels with a face neighbour of another label (find_boundaries 'thick', or 'inner')."""
    from ._kernels import face_boundaries as kernel

    return kernel(as_volume(labels), foreground_only).reshape(labels.shape)


def per_label_lookup(
    values_by_label: np.ndarray, ids: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """Broadcast one value per label id back onto the label image (0 on background)."""
    table = np.zeros(int(labels.max()) + 1, dtype=values_by_label.dtype)
    table[ids] = values_by_label
    return table[labels]


def per_label_max(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-pixel maximum of ``values`` over the pixel's own instance (0 on background)."""
    top = int(labels.max(initial=0))
    if top == 0:
        return np.zeros(labels.shape, dtype=values.dtype)
    from ._kernels import label_maximum

    maxima = label_maximum(
        np.ascontiguousarray(labels).ravel(), np.ascontiguousarray(values).ravel(), top + 1
    )
    return maxima.astype(values.dtype)[labels]


def inner_points(labels: np.ndarray) -> dict[int, tuple[int, ...]]:
    """One pixel per instance, inside it, nearest to its centroid.

    The centroid of a non-convex object can fall outside it; then the object's
    pixel closest to the centroid is taken (the first in raster order on ties).
    """
    sizes, all_centroids = label_sizes_and_centroids(labels)
    ids = np.flatnonzero(sizes)
    if ids.size == 0:
        return {}
    centroids = all_centroids[ids]
    rounded = np.clip(np.rint(centroids).astype(np.int64), 0, np.array(labels.shape) - 1)
    inside = labels[tuple(rounded.T)] == ids
    points = {int(i): tuple(int(c) for c in p) for i, p, ok in zip(ids, rounded, inside) if ok}
    if not inside.all():
        # the object's voxel nearest to its centroid: one compiled pass over the image
        from ._kernels import nearest_voxels

        wanted = np.zeros(all_centroids.shape[0], dtype=bool)
        wanted[ids[~inside]] = True
        targets = np.zeros((all_centroids.shape[0], 3))
        targets[:, 3 - labels.ndim :] = all_centroids
        nearest = nearest_voxels(as_volume(labels), wanted, targets)[:, 3 - labels.ndim :]
        for label_id in ids[~inside]:
            points[int(label_id)] = tuple(int(c) for c in nearest[label_id])
    return points


def remove_small_labels(labels: np.ndarray, min_size: int) -> np.ndarray:
    """Labels with instances of fewer than ``min_size`` pixels set to 0."""
    if min_size <= 1 or labels.size == 0:
        return labels
    sizes = np.bincount(labels.ravel())
    small = sizes < min_size
    small[0] = False
    return np.where(small[labels], 0, labels).astype(labels.dtype, copy=False)


def remove_large_labels(labels: np.ndarray, max_size: int) -> np.ndarray:
    """Labels with instances of more than ``max_size`` pixels set to 0."""
    if labels.size == 0:
        return labels
    sizes = np.bincount(labels.ravel())
    large = sizes > max_size
    large[0] = False
    return np.where(large[labels], 0, labels).astype(labels.dtype, copy=False)
