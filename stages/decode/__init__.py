"""Decoders: predicted channels -> instance labels, chosen by the channel codes.

watershed: every channel set but R and E (A is aggregated first); stardist: Db or F
with R; embeddings: E. PROBLEM.INSTANCE_SEG.INSTANCE_CREATION_PROCESS may name the
decoder, but it must fit the channels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..channels import ENCODERS, plane_code

DECODERS = ("watershed", "stardist", "embeddings")


@dataclass
class Decoded:
    labels: np.ndarray
    decoder: str
    settings: dict
    #: maps worth saving for inspection (the watershed's seed map, surface and mask), made on
    #: request: the seed map costs a labelling of its own, wasted when nobody saves it
    debug: Callable[[], dict] | None = None


def decoder_for(codes: list[str], requested: str = "") -> str:
    """The decoder a channel set needs; ``requested`` must agree with it when given."""
    needed = "stardist" if "R" in codes else "embeddings" if "E" in codes else "watershed"
    if requested and requested != needed:
        raise ValueError(
            f"INSTANCE_CREATION_PROCESS {requested!r} cannot decode the channels {codes}: they "
            f"need {needed!r}"
        )
    return needed


def decode_channels(
    channels: np.ndarray, planes: list[str], seg: dict, channel_options: dict | None = None
) -> Decoded:
    """Decode (C, [Z,] Y, X) channels named by ``planes`` with the PROBLEM.INSTANCE_SEG section
    ``seg``."""
    codes = list(dict.fromkeys(plane_code(p) for p in planes))
    decoder = decoder_for(codes, seg.get("INSTANCE_CREATION_PROCESS", ""))
    if decoder == "stardist":
        from ..channels.rays import make_rays
        from .stardist import star_nms

        options = ENCODERS["R"].resolve_options(
            (channel_options or {}).get("R", {}), channels.ndim - 1
        )
        rays = make_rays(options["nrays"], channels.ndim - 1, options["anisotropy"])
        ray_planes = [i for i, p in enumerate(planes) if plane_code(p) == "R"]
        probability = planes.index("Db") if "Db" in planes else planes.index("F")
        section = seg["STARDIST"]
        overlap = section["NMS_OVERLAP"]
        if overlap == "auto":
            overlap = "union" if channels.ndim == 3 else "smaller"
        result = star_nms(
            channels[probability],
            channels[ray_planes],
            rays,
            prob_thresh=section["PROB_THRESH"],
            nms_thresh=section["NMS_IOU_THRESH"],
            overlap=overlap,
        )
        settings = {
            **result.settings,
            "probability_channel": planes[probability],
            "candidates": result.candidates,
        }
        return Decoded(result.labels, decoder, settings)
    if decoder == "embeddings":
        from .embedseg import cluster_embeddings

        section = seg["EMBEDSEG"]
        result = cluster_embeddings(
            channels,
            seed_thresh=section["SEED_THRESH"],
            fg_thresh=section["FG_THRESH"],
            min_mask_sum=section["MIN_MASK_SUM"],
            min_unclustered_sum=section["MIN_UNCLUSTERED_SUM"],
            min_object_size=section["MIN_OBJECT_SIZE"],
        )
        return Decoded(result.labels, decoder, result.settings)
    from .watershed import watershed_from_channels, watershed_options

    result = watershed_from_channels(channels, planes, **watershed_options(seg["WATERSHED"]))

    def debug() -> dict:
        return {
            "seed_map": result.seed_map.astype(np.uint32),
            "semantic": result.surface,
            "foreground": result.growth_mask.astype(np.uint8),
        }

    return Decoded(result.labels, decoder, {"decoder": decoder, **result.settings}, debug)
