"""Gradient-flow decoding (Cellpose): follow the predicted flows from every foreground pixel,
gather the pixels that end in the same place into one instance, drop the instances whose own
flows disagree with the prediction.

1. Every foreground pixel moves ``n_steps`` times by the flow at its position (linear
   interpolation; flows are unit vectors, so about a pixel a step), staying inside the image.
2. The end points are counted per pixel; a count that is the maximum of its 5-pixel window and
   above 10 seeds an instance, which grows five times into neighbouring pixels with a count
   above 2 (Cellpose's rule). Each pixel takes the instance of the place it ended in.
3. With ``flow_threshold`` above 0, each instance's flows are made again from its mask and an
   instance whose mean squared difference to the prediction exceeds it is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._lazy import lazy_import

ndi = lazy_import("scipy.ndimage")

#: Cellpose's clustering: the window a seed is the maximum of, the count a seed needs, the
#: count a pixel needs to join a growing seed, and how many times a seed grows
PEAK_WINDOW = 5
SEED_COUNT = 10
JOIN_COUNT = 2
GROWTH_STEPS = 5


@dataclass
class FlowResult:
    labels: np.ndarray
    settings: dict


def follow_flows(
    flows: np.ndarray, foreground: np.ndarray, n_steps: int, *, suppressed: bool = False
) -> np.ndarray:
    """End points (N, ndim) float32 of the foreground pixels (in ``np.nonzero`` order) after
    ``n_steps`` steps along ``flows`` (ndim, *shape), which are 0 outside ``foreground``.

    ``suppressed``: the t-th step is 1/t of the flow (Omnipose's suppressed Euler), so that
    pixels settle on their instance's ridge instead of running along it to its maxima.
    """
    from ..threads import kernel_threads
    from ._flow_kernels import follow_in_volume

    positions = np.stack(np.nonzero(foreground), axis=1).astype(np.float32)
    if not len(positions):
        return positions
    flows = np.where(foreground, flows, 0).astype(np.float32)
    if foreground.ndim == 2:
        # one section: a Z axis of length 1 with no flow along it
        flows = np.concatenate([np.zeros_like(flows[:1]), flows])[:, np.newaxis]
        positions = np.concatenate([np.zeros_like(positions[:, :1]), positions], axis=1)
    follow_in_volume(np.ascontiguousarray(flows), positions, n_steps, suppressed, kernel_threads())
    if foreground.ndim == 2:
        positions = np.ascontiguousarray(positions[:, 1:])
    return positions


def cluster_end_points(
    end_points: np.ndarray, foreground: np.ndarray, gradient_type: str = "cellpose"
) -> np.ndarray:
    """Instance labels of the foreground pixels from where they ended.

    Cellpose's flows end in one point per instance: peaks of the end-point counts seed the
    instances (Cellpose's rule). Omnipose's end on each instance's distance ridge, a line:
    the connected places where pixels ended are the instances.
    """
    shape = foreground.shape
    labels = np.zeros(shape, dtype=np.int32)
    if not len(end_points):
        return labels
    bins = np.ravel_multi_index(tuple(np.rint(end_points).astype(np.intp).T), shape)
    counts = np.bincount(bins, minlength=int(np.prod(shape))).reshape(shape)
    full = np.ones((3,) * len(shape), dtype=bool)
    if gradient_type == "omnipose":
        ends, _ = ndi.label(counts > 0, structure=full)
        labels[np.nonzero(foreground)] = ends.ravel()[bins]
        return labels
    peaks = (counts >= ndi.maximum_filter(counts, size=PEAK_WINDOW)) & (counts > SEED_COUNT)
    seeds, _ = ndi.label(peaks, structure=full)
    joinable = counts > JOIN_COUNT
    for _ in range(GROWTH_STEPS):
        grown = ndi.grey_dilation(seeds, size=3)
        seeds = np.where((seeds == 0) & joinable, grown, seeds)
    labels[np.nonzero(foreground)] = seeds.ravel()[bins]
    return labels


def flow_errors(labels: np.ndarray, flows: np.ndarray, gradient_type: str) -> np.ndarray:
    """Mean squared difference (summed over components) between each instance's flows made
    from its mask and ``flows``, indexed by label id (index 0 unused)."""
    from ..channels.flows import instance_flows

    expected = instance_flows(labels, gradient_type)
    squared = ((expected - flows) ** 2).sum(axis=0)
    flat = labels.ravel()
    sums = np.bincount(flat, weights=squared.ravel())
    sizes = np.bincount(flat)
    return np.divide(sums, sizes, out=np.zeros_like(sums), where=sizes > 0)


def flows_to_instances(
    flows: np.ndarray,
    foreground: np.ndarray,
    *,
    n_steps: int = 200,
    flow_threshold: float = 0.4,
    gradient_type: str = "cellpose",
) -> FlowResult:
    """Instance labels (int32, 1..n) from unit ``flows`` (ndim, *shape; components in axis
    order) and a boolean ``foreground``."""
    from skimage.segmentation import relabel_sequential

    foreground = np.asarray(foreground, dtype=bool)
    end_points = follow_flows(flows, foreground, n_steps, suppressed=gradient_type == "omnipose")
    labels = cluster_end_points(end_points, foreground, gradient_type)
    labels, _, _ = relabel_sequential(labels)
    found = int(labels.max(initial=0))
    dropped = 0
    if flow_threshold > 0 and found:
        errors = flow_errors(labels, flows, gradient_type)
        bad = np.flatnonzero(errors > flow_threshold)
        bad = bad[bad > 0]
        if bad.size:
            keep = np.ones(found + 1, dtype=bool)
            keep[bad] = False
            labels = np.where(keep[labels], labels, 0)
            labels, _, _ = relabel_sequential(labels)
            dropped = int(bad.size)
    settings = {
        "n_steps": n_steps,
        "flow_threshold": flow_threshold,
        "gradient_type": gradient_type,
        "instances_found": found,
        "dropped_by_flow_error": dropped,
    }
    return FlowResult(labels.astype(np.int32, copy=False), settings)
