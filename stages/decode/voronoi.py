"""Voronoi tessellation of instances inside a foreground mask (the spec's VORONOI_ON_MASK).

Every pixel of the mask goes to the instance whose inner point (the pixel nearest its
centroid) is closest, so that instances fill the mask and touch each other with no gaps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage as ndi

from ..labels import compact_ids, restore_ids
from ..labels.morphology import inner_points

#: channels whose union gives the mask (the spec's F, B, C; the legacy M, B + C, is read as F)
MASK_CHANNELS = ("F", "B", "C")


def voronoi_on_mask(labels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Instances grown to the Voronoi cells of their inner points, within ``mask``.

    Pixels of an instance outside the mask stay in the mask (an instance is never lost);
    the background outside it stays background. Works on (Y,X) and (Z,Y,X).
    """
    if labels.shape != mask.shape:
        raise ValueError(f"labels {labels.shape} and mask {mask.shape} differ in shape")
    compact, ids = compact_ids(labels)
    points = inner_points(compact)
    if not points:
        return labels.copy()
    seeds = np.zeros(compact.shape, dtype=compact.dtype)
    seeds[tuple(np.array(list(points.values())).T)] = list(points)
    nearest = ndi.distance_transform_edt(seeds == 0, return_distances=False, return_indices=True)
    cells = seeds[tuple(nearest)]
    region = mask.astype(bool) | (compact > 0)
    return restore_ids(np.where(region, cells, 0), ids, labels.dtype)


def voronoi_mask(channels: np.ndarray, planes: Sequence[str], threshold: float) -> np.ndarray:
    """The union of the F, B and C planes among ``planes``, each above ``threshold`` (0: Otsu).

    Contours belong to their objects, so C widens the mask to the objects' outer edges (the
    B + C mask of BiaPy's older channel sets).
    """
    from .watershed import otsu_threshold

    used = [code for code in MASK_CHANNELS if code in planes]
    if not used:
        raise ValueError(
            f"a Voronoi mask needs one of the channels {', '.join(MASK_CHANNELS)}; "
            f"got {list(planes)}"
        )
    mask = np.zeros(channels.shape[1:], dtype=bool)
    for code in used:
        plane = channels[list(planes).index(code)]
        mask |= plane > (threshold if threshold > 0 else otsu_threshold(plane))
    return mask
