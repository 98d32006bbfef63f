"""EmbedSeg clustering: seeds by seediness, instances by the seed's Gaussian kernel in embedding
space."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: the kernel value above which a pixel joins the seed's instance (fixed in EmbedSeg)
KERNEL_THRESHOLD = 0.5
#: seediness above which a pixel is foreground (EmbedSeg's fg_thresh)
FOREGROUND_THRESHOLD = 0.5


@dataclass
class EmbedSegResult:
    labels: np.ndarray
    settings: dict


def cluster_embeddings(
    planes: np.ndarray,
    *,
    seed_thresh: float = 0.9,
    fg_thresh: float = FOREGROUND_THRESHOLD,
    min_mask_sum: int = 0,
    min_unclustered_sum: int = 0,
    min_object_size: int = 100,
) -> EmbedSegResult:
    """Instances from EmbedSeg planes (offsets, sigma, seediness; see channels.embedding).

    Repeatedly takes the unclustered foreground pixel of highest seediness as a seed and
    gathers every foreground pixel whose embedding (coordinate + offset) has kernel value
    exp(-1/2 sum(((e - e_seed) / sigma_seed)^2)) > 0.5. Only pixels whose embedding falls in
    the grid cells of the kernel's box are looked at, so the cost grows with the foreground,
    not with foreground x instances (compiled, ``_embedseg_kernels``).

    Returns labels in uint32 (EmbedSeg's int16 overflows past 32,767 objects).
    """
    from ._embedseg_kernels import cluster_seeds  # numba: compiled on first use only

    ndim = (planes.shape[0] - 1) // 2
    if planes.shape[0] != 2 * ndim + 1 or planes.ndim - 1 != ndim:
        raise ValueError(
            f"EmbedSeg planes must be {2 * (planes.ndim - 1) + 1} (offsets, sigma, seediness) "
            f"for {planes.ndim - 1}D, got {planes.shape[0]}"
        )
    seediness = planes[2 * ndim]
    foreground = seediness > fg_thresh
    labels = np.zeros(seediness.shape, dtype=np.uint32)
    settings = {
        "decoder": "embeddings",
        "seed_thresh": float(seed_thresh),
        "fg_thresh": float(fg_thresh),
        "min_mask_sum": int(min_mask_sum),
        "min_unclustered_sum": int(min_unclustered_sum),
        "min_object_size": int(min_object_size),
    }
    count = int(foreground.sum())
    if count <= min_mask_sum:
        return EmbedSegResult(labels, settings)
    coords = np.argwhere(foreground)
    embeddings = coords + np.stack([planes[a][foreground] for a in range(ndim)], axis=1).astype(
        np.float64
    )
    sigma = np.maximum(
        np.stack([planes[ndim + a][foreground] for a in range(ndim)], axis=1).astype(np.float64),
        1e-6,
    )
    if not (np.isfinite(embeddings).all() and np.isfinite(sigma).all()):
        raise ValueError("EmbedSeg offsets or sigma hold NaN or infinite values on the foreground")
    seeds = seediness[foreground]
    order = np.argsort(-seeds, kind="stable")
    reach = float(np.sqrt(2 * np.log(1 / KERNEL_THRESHOLD)))
    # grid cells about one typical kernel ball wide, and no more cells than 4 per point
    # (embeddings of noisy predictions may scatter far)
    cell = max(reach * float(np.median(sigma.max(axis=1))), 1e-3)
    span = np.ptp(embeddings, axis=0) + cell
    cell = max(cell, float(np.prod(span) / (4 * count)) ** (1 / ndim))
    assigned = cluster_seeds(
        embeddings,
        sigma,
        seeds.astype(np.float64),
        order,
        float(seed_thresh),
        int(min_unclustered_sum),
        int(min_object_size),
        reach,
        cell,
        KERNEL_THRESHOLD,
    )
    labels[foreground] = assigned
    return EmbedSegResult(labels, settings)
