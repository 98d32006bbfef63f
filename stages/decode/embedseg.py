"""EmbedSeg clustering: seeds by seediness, instances by the seed's Gaussian kernel in embedding space."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

#: the kernel value above which a pixel joins the seed's instance (fixed in EmbedSeg)
KERNEL_THRESHOLD = 0.5
#: seediness above which a pixel is foreground (EmbedSeg's fg_thresh)
FOREGROUND_THRESHOLD = 0.5


@dataclass
class EmbedSegResult:
    labels: np.ndarray
    settings: dict


def cluster_embeddings(planes: np.ndarray, *, seed_thresh: float = 0.9, fg_thresh: float = FOREGROUND_THRESHOLD, min_mask_sum: int = 0, min_unclustered_sum: int = 0,
                       min_object_size: int = 100) -> EmbedSegResult:
    """Instances from EmbedSeg planes (offsets, sigma, seediness; see channels.embedding).

    Repeatedly takes the unclustered foreground pixel of highest seediness as a seed and
    gathers every foreground pixel whose embedding (coordinate + offset) has kernel value
    exp(-1/2 sum(((e - e_seed) / sigma_seed)^2)) > 0.5. Only pixels whose embedding falls in
    the kernel's ball are looked at (a k-d tree over the embeddings), so the cost grows with
    the foreground, not with foreground x instances.

    Returns labels in uint32 (EmbedSeg's int16 overflows past 32,767 objects).
    """
    ndim = (planes.shape[0] - 1) // 2
    if planes.shape[0] != 2 * ndim + 1 or planes.ndim - 1 != ndim:
        raise ValueError(f"EmbedSeg planes must be {2 * (planes.ndim - 1) + 1} (offsets, sigma, seediness) for {planes.ndim - 1}D, got {planes.shape[0]}")
    seediness = planes[2 * ndim]
    foreground = seediness > fg_thresh
    labels = np.zeros(seediness.shape, dtype=np.uint32)
    settings = {"decoder": "embeddings", "seed_thresh": float(seed_thresh), "fg_thresh": float(fg_thresh), "min_mask_sum": int(min_mask_sum),
                "min_unclustered_sum": int(min_unclustered_sum), "min_object_size": int(min_object_size)}
    count = int(foreground.sum())
    if count <= min_mask_sum:
        return EmbedSegResult(labels, settings)
    coords = np.argwhere(foreground)
    embeddings = coords + np.stack([planes[a][foreground] for a in range(ndim)], axis=1).astype(np.float64)
    sigma = np.maximum(np.stack([planes[ndim + a][foreground] for a in range(ndim)], axis=1).astype(np.float64), 1e-6)
    seeds = seediness[foreground]
    order = np.argsort(-seeds, kind="stable")
    tree = cKDTree(embeddings)
    unclustered = np.ones(count, dtype=bool)
    remaining = count
    assigned = np.zeros(count, dtype=np.uint32)
    reach = np.sqrt(2 * np.log(1 / KERNEL_THRESHOLD))
    instance = 0
    pointer = 0
    while remaining > min_unclustered_sum:
        while pointer < count and not unclustered[order[pointer]]:
            pointer += 1
        if pointer == count:
            break
        seed = order[pointer]
        if seeds[seed] < seed_thresh:
            break
        centre, bandwidth = embeddings[seed], sigma[seed]
        near = np.asarray(tree.query_ball_point(centre, reach * bandwidth.max()), dtype=np.int64)
        kernel = np.exp(-0.5 * (((embeddings[near] - centre) / bandwidth) ** 2).sum(axis=1)) if near.size else np.zeros(0)
        proposal = near[kernel > KERNEL_THRESHOLD]
        if proposal.size > min_object_size and unclustered[proposal].mean() > 0.5:
            instance += 1
            fresh = proposal[unclustered[proposal]]
            assigned[fresh] = instance
        remaining -= int(unclustered[proposal].sum())
        unclustered[proposal] = False
        # the seed leaves the pool even when its kernel missed it, so the loop always advances
        remaining -= int(unclustered[seed])
        unclustered[seed] = False
    labels[foreground] = assigned
    return EmbedSegResult(labels, settings)
