"""Flow channels Gh, Gv, Gz: unit vectors that lead each instance pixel to its instance's centre
(Cellpose) or up its distance ridge (Omnipose), 0 on background.

Cellpose's flow is the gradient of heat diffused from one source pixel per instance (the pixel
nearest its centroid, as BiaPy 3.7.1 picks it), each instance on its own: heat never crosses
into a touching instance.
Omnipose's is the gradient of the distance to the instance's boundary. Both are normalised to
unit length, as BiaPy 3.7.1 documents them ([-1, 1] per component).
"""

from __future__ import annotations

import numpy as np

from ..labels.morphology import inner_points

GRADIENT_TYPES = ("cellpose", "omnipose")


def _shifted(array: np.ndarray, offset: tuple[int, ...]) -> np.ndarray:
    """``array`` read at ``index + offset`` (its border padded by one beforehand)."""
    return array[tuple(slice(1 + o, array.shape[a] - 1 + o) for a, o in enumerate(offset))]


def heat_potential(labels: np.ndarray) -> np.ndarray:
    """Cellpose's potential: log(1 + heat) diffused from each instance's centre pixel (the one
    nearest its centroid), heat moving only between pixels of the same instance, for
    Cellpose's count of rounds: 2 (h + w + 4) in 2D, 6 (d + h + w + 3) in 3D, from the
    instance's box (float32, 0 on background)."""
    from ..labels import instance_boxes
    from ._encoding_kernels import diffuse_heat

    potential = np.zeros(labels.shape, dtype=np.float32)
    centres = inner_points(labels)
    for label, box in instance_boxes(labels):
        extent = sum(s.stop - s.start for s in box)
        rounds = 2 * (extent + 4) if labels.ndim == 2 else 6 * (extent + 3)
        # a margin of one outside voxel on every side: the window never leaves the box
        inside = np.pad(labels[box] == label, 1)
        source = [c - s.start + 1 for c, s in zip(centres[label], box, strict=True)]
        planar = labels.ndim == 2
        heat = diffuse_heat(
            inside[np.newaxis] if planar else inside,
            np.array([0, *source] if planar else source),
            rounds,
            planar,
        ).reshape(inside.shape)
        core = (slice(1, -1),) * labels.ndim
        own = inside[core]
        potential[box][own] = np.log1p(heat[core][own])
    return potential


def distance_potential(labels: np.ndarray) -> np.ndarray:
    """Omnipose's potential: each instance pixel's distance to its instance's boundary."""
    from .distance import _multi_label_distance

    return _multi_label_distance(labels)


#: the last flows made, by labels' content: Gh, Gv and Gz of one image are one computation
_LAST: dict[tuple, np.ndarray] = {}


def _remembered_flows(labels: np.ndarray, gradient_type: str) -> np.ndarray:
    import hashlib

    digest = hashlib.blake2b(np.ascontiguousarray(labels).view(np.uint8), digest_size=16)
    key = (labels.shape, labels.dtype.str, digest.hexdigest(), gradient_type)
    flows = _LAST.get(key)
    if flows is None:
        flows = instance_flows(labels, gradient_type)
        _LAST.clear()
        _LAST[key] = flows
    return flows


def instance_flows(labels: np.ndarray, gradient_type: str = "cellpose") -> np.ndarray:
    """(ndim, [Z,] Y, X) float32 unit flow vectors (components in axis order), 0 on background.

    The gradient is taken by central differences with the neighbours of the same instance
    only (a neighbour of another instance or of the background counts as 0, so that flows at
    a boundary point inwards).
    """
    if gradient_type not in GRADIENT_TYPES:
        raise ValueError(
            f"gradient_type must be one of {list(GRADIENT_TYPES)}, got {gradient_type!r}"
        )
    potential = (
        heat_potential(labels) if gradient_type == "cellpose" else distance_potential(labels)
    )
    inside = labels > 0
    padded = np.pad(np.where(inside, potential, 0.0), 1)
    padded_labels = np.pad(labels, 1)
    flows = np.zeros((labels.ndim, *labels.shape), dtype=np.float32)
    for axis in range(labels.ndim):
        forward = tuple(1 if a == axis else 0 for a in range(labels.ndim))
        backward = tuple(-1 if a == axis else 0 for a in range(labels.ndim))
        ahead = np.where(_shifted(padded_labels, forward) == labels, _shifted(padded, forward), 0)
        behind = np.where(
            _shifted(padded_labels, backward) == labels, _shifted(padded, backward), 0
        )
        flows[axis] = np.where(inside, ahead - behind, 0.0)
    length = np.sqrt((flows**2).sum(axis=0))
    np.divide(flows, length, out=flows, where=length > 0)
    return flows


def encode_flow_x(labels: np.ndarray, *, gradient_type: str = "cellpose") -> np.ndarray:
    """Gh: the X component of the instances' unit flow."""
    return _remembered_flows(labels, gradient_type)[-1].copy()


def encode_flow_y(labels: np.ndarray, *, gradient_type: str = "cellpose") -> np.ndarray:
    """Gv: the Y component."""
    return _remembered_flows(labels, gradient_type)[-2].copy()


def encode_flow_z(labels: np.ndarray, *, gradient_type: str = "cellpose") -> np.ndarray:
    """Gz: the Z component (3D only)."""
    return _remembered_flows(labels, gradient_type)[-3].copy()
