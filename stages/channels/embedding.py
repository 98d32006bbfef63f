"""E: EmbedSeg targets: offset to the instance centre, clustering bandwidth, seediness.

Planes, in order: offsets ([Z,] Y, X; pixels from the pixel to its instance's centre),
sigma ([Z,] Y, X; the kernel bandwidth in pixels) and seediness (1 inside instances).
A pixel's embedding is its coordinate plus its offset, so with these targets every
pixel of an instance embeds exactly at the instance's centre.
"""

from __future__ import annotations

import numpy as np

from .._lazy import lazy_import
from ..labels import instance_boxes
from ..labels.morphology import label_sizes_and_centroids, per_label_lookup

# scipy and scikit-image load at first use: `segpipe predict` reads this module only for
# its metadata (see stages._lazy)
ndi = lazy_import("scipy.ndimage")

AXES = "ZYX"


def embedding_plane_names(ndim: int) -> list[str]:
    axes = AXES[-ndim:].lower()
    return [f"E_offset_{a}" for a in axes] + [f"E_sigma_{a}" for a in axes] + ["E_seediness"]


def instance_centres(
    labels: np.ndarray, center_mode: str = "centroid", medoid_max_points: int = 10000
) -> tuple[np.ndarray, np.ndarray]:
    """Ids and one centre per instance (n, ndim): the centroid, or the medoid pixel.

    The medoid is the instance pixel with the least summed distance to the others,
    searched among at most ``medoid_max_points`` evenly spaced pixels of the instance.
    """
    sizes, centroids = label_sizes_and_centroids(labels)
    ids = np.flatnonzero(sizes)
    if center_mode == "centroid" or ids.size == 0:
        return ids, centroids[ids]
    centres = np.zeros((len(ids), labels.ndim))
    boxes = dict(instance_boxes(labels))
    for row, label_id in enumerate(ids):
        box = boxes[int(label_id)]
        coords = np.argwhere(labels[box] == label_id).astype(np.float64)
        if len(coords) > medoid_max_points:
            coords = coords[np.linspace(0, len(coords) - 1, medoid_max_points).astype(np.int64)]
        # summed distances in chunks so memory stays at chunk x points
        sums = np.concatenate(
            [
                np.sqrt(((coords[s : s + 1024, None] - coords[None]) ** 2).sum(-1)).sum(1)
                for s in range(0, len(coords), 1024)
            ]
        )
        centres[row] = coords[np.argmin(sums)] + [s.start for s in box]
    return ids, centres


def encode_embedding(
    labels: np.ndarray, *, center_mode: str = "centroid", medoid_max_points: int = 10000
) -> np.ndarray:
    """(2 * ndim + 1, [Z,] Y, X) float32 EmbedSeg targets; sigma is half the instance's spread per
    axis (>= 0.5 px, so single-pixel neighbours stay apart)."""
    ndim = labels.ndim
    out = np.zeros((2 * ndim + 1,) + labels.shape, dtype=np.float32)
    sizes, means = label_sizes_and_centroids(labels)
    ids = np.flatnonzero(sizes)
    if ids.size == 0:
        return out
    sizes, means = sizes[ids].astype(np.float64), means[ids]
    centres = (
        means
        if center_mode == "centroid"
        else instance_centres(labels, center_mode, medoid_max_points)[1]
    )
    inside = labels > 0
    for axis in range(ndim):
        shape = [1] * ndim
        shape[axis] = labels.shape[axis]
        coordinate = np.arange(labels.shape[axis], dtype=np.float64).reshape(shape)
        coordinate = np.broadcast_to(coordinate, labels.shape)
        out[axis] = np.where(
            inside, per_label_lookup(centres[:, axis], ids, labels) - coordinate, 0
        )
        spread = np.sqrt(
            np.maximum(
                np.asarray(ndi.sum(coordinate**2, labels, ids)) / sizes - means[:, axis] ** 2, 0
            )
        )
        out[ndim + axis] = np.where(
            inside, per_label_lookup(np.maximum(0.5 * spread, 0.5), ids, labels), 0
        )
    out[2 * ndim] = inside
    return out
