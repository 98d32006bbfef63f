"""Binary channels: foreground F, background B, centre parts P, contour C, touching areas T."""

from __future__ import annotations

import numpy as np

from .._lazy import lazy_import
from ..labels import instance_boxes
from ..labels.morphology import (
    Radius,
    ball,
    dilate_mask,
    erode_labels,
    erode_mask,
    face_boundaries,
    has_extent,
    inner_points,
    radii,
)

# scipy and scikit-image load at first use: `segpipe predict` reads this module only for
# its metadata (see stages._lazy)
ndi = lazy_import("scipy.ndimage")
morphology = lazy_import("skimage.morphology")
segmentation = lazy_import("skimage.segmentation")


def encode_foreground(
    labels: np.ndarray, *, erosion: Radius = 0, dilation: Radius = 0
) -> np.ndarray:
    """F: 1 inside any instance; erosion is per instance, so touching instances separate.
    Radii are one number or one per axis (an ellipsoid)."""
    foreground = (erode_labels(labels, erosion) if has_extent(erosion) else labels) > 0
    return dilate_mask(foreground, dilation) if has_extent(dilation) else foreground


def encode_background(
    labels: np.ndarray, *, erosion: Radius = 0, dilation: Radius = 0
) -> np.ndarray:
    """B: 1 outside every instance; dilating B cuts thin bridges between instances."""
    background = labels == 0
    background = erode_mask(background, erosion)
    background = dilate_mask(background, dilation)
    return background


def main_branch(skeleton: np.ndarray) -> np.ndarray:
    """The longest path of a skeleton: in its largest connected piece, the pixels on a shortest
    path (through neighbouring skeleton pixels, Euclidean steps) between its two farthest-apart
    ends, found as the points farthest from any pixel and then from that one."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components, dijkstra

    points = np.argwhere(skeleton)
    if len(points) < 3:
        return skeleton.copy()
    index = np.full(skeleton.shape, -1, dtype=np.int64)
    index[tuple(points.T)] = np.arange(len(points))
    padded = np.pad(index, 1, constant_values=-1)
    sources, targets, lengths = [], [], []
    for offset in np.argwhere(np.ones((3,) * skeleton.ndim)) - 1:
        if tuple(offset) <= (0,) * skeleton.ndim:
            continue  # each pair once: the offsets after the centre in raster order
        other = padded[tuple(points.T + 1 + offset[:, None])]
        linked = other >= 0
        sources.append(np.flatnonzero(linked))
        targets.append(other[linked])
        lengths.append(np.full(linked.sum(), np.sqrt((offset**2).sum())))
    count = len(points)
    graph = coo_matrix(
        (np.concatenate(lengths), (np.concatenate(sources), np.concatenate(targets))),
        shape=(count, count),
    ).tocsr()
    _, piece = connected_components(graph, directed=False)
    largest = np.flatnonzero(piece == np.bincount(piece).argmax())
    reach = dijkstra(graph, directed=False, indices=largest[0])
    first = largest[np.argmax(reach[largest])]
    from_first = dijkstra(graph, directed=False, indices=first)
    last = largest[np.argmax(from_first[largest])]
    from_last = dijkstra(graph, directed=False, indices=last)
    on_path = from_first + from_last <= from_first[last] + 1e-6
    out = np.zeros(skeleton.shape, dtype=bool)
    out[tuple(points[on_path].T)] = True
    return out


def encode_center_points(
    labels: np.ndarray,
    *,
    type: str = "centroid",
    skeleton_mode: str = "full",
    dilation: Radius = 1,
    erosion: Radius = 0,
) -> np.ndarray:
    """P: one seed region per instance (its centre pixel or its skeleton, ``skeleton_mode``
    'full' with every branch, 'main' its longest path only), kept inside its instance."""
    if type == "centroid" and not has_extent(erosion):
        return _dilated_points(labels, inner_points(labels), dilation)
    centers = np.zeros(labels.shape, dtype=labels.dtype)
    if type == "centroid":
        for label_id, point in inner_points(labels).items():
            centers[point] = label_id
    else:
        for label_id, box in instance_boxes(labels):
            mask = labels[box] == label_id
            skeleton = morphology.skeletonize(mask) & mask
            if skeleton_mode == "main":
                skeleton = main_branch(skeleton)
            centers[box][skeleton] = label_id
    centers = erode_labels(centers, erosion)
    if has_extent(dilation):
        grown = ndi.grey_dilation(centers, footprint=ball(dilation, labels.ndim))
        centers = np.where((grown == labels) & (labels > 0), grown, centers)
    return centers > 0


def _dilated_points(
    labels: np.ndarray, points: dict[int, tuple[int, ...]], radius: Radius
) -> np.ndarray:
    """Each instance's point grown by a ball of ``radius``, kept inside its own instance.

    The points are few: scatter the ball's offsets around each instead of dilating the image.
    """
    out = np.zeros(labels.shape, dtype=bool)
    if not points:
        return out
    ids = np.fromiter(points.keys(), dtype=np.int64, count=len(points))
    coordinates = np.array(list(points.values()), dtype=np.int64).reshape(len(points), labels.ndim)
    per_axis = np.maximum(radii(radius, labels.ndim), 0)
    offsets = np.argwhere(ball(tuple(per_axis), labels.ndim)) - per_axis
    reached = (coordinates[:, None, :] + offsets[None, :, :]).reshape(-1, labels.ndim)
    owner = np.repeat(ids, len(offsets))
    inside = np.all((reached >= 0) & (reached < np.array(labels.shape)), axis=1)
    reached, owner = reached[inside], owner[inside]
    own = labels[tuple(reached.T)] == owner
    out[tuple(reached[own].T)] = True
    return out


def encode_contour(labels: np.ndarray, *, mode: str = "thick") -> np.ndarray:
    """C: instance boundaries (skimage.segmentation.find_boundaries modes thick, inner, outer),
    'subpixel' brought back onto the pixel grid, or 'dense': the one-pixel rim just outside
    the foreground as a whole (face neighbours).

    find_boundaries' 'subpixel' marks the cracks between pixels on a doubled grid (2n-1
    per axis), which no network output of the image's size can hold (BiaPy crashes on
    it). Here a pixel is contour when any crack around it (across a face, an edge or a
    corner) is a boundary, i.e. the doubled grid max-pooled over 3 per axis at the
    pixels, which is 'thick' with full connectivity (computed so, without the doubled
    grid: equality tested).
    """
    if mode == "subpixel":
        return segmentation.find_boundaries(labels, connectivity=labels.ndim, mode="thick")
    if mode == "dense":
        foreground = labels > 0
        return ndi.binary_dilation(foreground) & ~foreground
    if mode in ("thick", "inner"):
        # one compiled pass over face neighbours; equal to find_boundaries (tested)
        return face_boundaries(labels, foreground_only=mode == "inner")
    return segmentation.find_boundaries(labels, connectivity=1, mode=mode)


def encode_touching(labels: np.ndarray, *, thickness: int = 2) -> np.ndarray:
    """T: instance pixels within ``thickness`` (total width) of a contact with another instance."""
    if thickness <= 0 or labels.max() == 0:
        return np.zeros(labels.shape, dtype=bool)
    radius = max(1, (thickness + 1) // 2)
    footprint = ball(radius, labels.ndim)
    sentinel = np.iinfo(labels.dtype).max
    # background must not count as "another instance": hide it from min and max
    lowest_other = ndi.minimum_filter(
        np.where(labels == 0, sentinel, labels), footprint=footprint, mode="nearest"
    )
    highest_other = ndi.maximum_filter(labels, footprint=footprint, mode="nearest")
    inside = labels > 0
    touching = inside & (
        ((lowest_other != labels) & (lowest_other != sentinel))
        | ((highest_other != labels) & (highest_other > 0))
    )
    return touching
