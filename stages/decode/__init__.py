"""Decoders: predicted channels -> instance labels, one registry entry per decoder.

A decoder claims the channel codes that need it (stardist: R, embeddings: E, gradient-flow:
Gh, Gv, Gz); the watershed claims none and decodes every other set (A is aggregated first).
Each decoder has a frozen settings dataclass that the decode command builds from its config
section; this package never reads a config. Adding a decoder is a module with its
function and settings, and one :func:`register_decoder` call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..channels import ENCODERS, plane_code
from .settings import (
    EmbedSegSettings,
    GradientFlowSettings,
    StarDistSettings,
    WatershedSettings,
)


@dataclass
class Decoded:
    labels: np.ndarray
    decoder: str
    settings: dict
    #: maps worth saving for inspection (the watershed's seed map, surface and mask), made on
    #: request: the seed map costs a labelling of its own, wasted when nobody saves it
    debug: Callable[[], dict] | None = None
    #: with a class head among the channels: each instance's pixels painted with its majority
    #: class (0 on background), else None
    classes: np.ndarray | None = None


#: how the class head's planes are named ("class 0" is the background)
CLASS_PLANE_PREFIX = "class "


def split_class_planes(
    channels: np.ndarray, planes: list[str]
) -> tuple[np.ndarray, list[str], np.ndarray | None]:
    """The instance channels and their planes, and the per-pixel class (argmax of the class
    head's planes; None without them)."""
    heads = [i for i, p in enumerate(planes) if p.startswith(CLASS_PLANE_PREFIX)]
    if not heads:
        return channels, planes, None
    kept = [i for i in range(len(planes)) if i not in heads]
    order = [int(planes[i][len(CLASS_PLANE_PREFIX) :]) for i in heads]
    class_map = np.asarray(order)[np.argmax(channels[heads], axis=0)]
    return channels[kept], [planes[i] for i in kept], class_map


@dataclass(frozen=True)
class Decoder:
    """One way of turning channels into instances.

    Attributes
    ----------
    name : the INSTANCE_CREATION_PROCESS value that names it.
    claims : channel codes whose presence selects this decoder; empty for the fallback.
    section : the config section its settings come from (for messages and the reference).
    settings : its frozen settings dataclass (defaults = the section's defaults).
    run : ``(channels, planes, settings, channel_options) -> Decoded``.
    """

    name: str
    claims: tuple[str, ...]
    section: str
    settings: type
    run: Callable[[np.ndarray, list[str], Any, dict], Decoded] = field(repr=False)


DECODERS: dict[str, Decoder] = {}


def register_decoder(decoder: Decoder) -> Decoder:
    """Add ``decoder`` to the registry (its name must be new)."""
    if decoder.name in DECODERS:
        raise ValueError(f"a decoder named {decoder.name!r} is already registered")
    DECODERS[decoder.name] = decoder
    return decoder


def decoder_for(codes: Sequence[str], requested: str = "") -> str:
    """The decoder a channel set needs; ``requested`` must agree with it when given."""
    claimed = [d.name for d in DECODERS.values() if set(d.claims) & set(codes)]
    fallback = [d.name for d in DECODERS.values() if not d.claims]
    needed = (claimed or fallback)[0]
    if requested and requested != needed:
        raise ValueError(
            f"INSTANCE_CREATION_PROCESS {requested!r} cannot decode the channels {list(codes)}: "
            f"they need {needed!r}"
        )
    return needed


def decode_channels(
    channels: np.ndarray,
    planes: list[str],
    settings: Mapping[str, Any] | None = None,
    channel_options: dict | None = None,
    *,
    requested: str = "",
) -> Decoded:
    """Decode (C, [Z,] Y, X) channels named by ``planes``; with a class head among them, each
    instance gets the majority class of its pixels (background pixels not counted).

    Parameters
    ----------
    settings : settings per decoder name; a decoder left out uses its defaults.
    channel_options : the encoder options the channels were made with (R's rays).
    requested : a decoder name that must fit the channels (empty: chosen from them).
    """
    from ..labels.classes import classes_by_majority

    channels, planes, class_map = split_class_planes(channels, planes)
    codes = list(dict.fromkeys(plane_code(p) for p in planes))
    decoder = DECODERS[decoder_for(codes, requested)]
    chosen = (settings or {}).get(decoder.name) or decoder.settings()
    decoded = decoder.run(channels, planes, chosen, channel_options or {})
    if class_map is not None:
        decoded.classes = classes_by_majority(decoded.labels, class_map)
    return decoded


def _run_stardist(
    channels: np.ndarray, planes: list[str], settings: StarDistSettings, channel_options: dict
) -> Decoded:
    from ..channels.rays import make_rays
    from .stardist import star_nms

    ndim = channels.ndim - 1
    options = ENCODERS["R"].resolve_options(channel_options.get("R", {}), ndim)
    rays = make_rays(options["nrays"], ndim, options["anisotropy"])
    ray_planes = [i for i, p in enumerate(planes) if plane_code(p) == "R"]
    probability = planes.index("Db") if "Db" in planes else planes.index("F")
    overlap = settings.overlap
    if overlap == "auto":
        overlap = "union" if ndim == 2 else "smaller"
    result = star_nms(
        channels[probability],
        channels[ray_planes],
        rays,
        prob_thresh=settings.prob_thresh,
        nms_thresh=settings.nms_thresh,
        overlap=overlap,
    )
    used = {
        **result.settings,
        "probability_channel": planes[probability],
        "candidates": result.candidates,
    }
    return Decoded(result.labels, "stardist", used)


def _run_embedseg(
    channels: np.ndarray, planes: list[str], settings: EmbedSegSettings, channel_options: dict
) -> Decoded:
    from .embedseg import cluster_embeddings

    result = cluster_embeddings(channels, **asdict(settings))
    return Decoded(result.labels, "embeddings", result.settings)


def _run_gradient_flow(
    channels: np.ndarray, planes: list[str], settings: GradientFlowSettings, channel_options: dict
) -> Decoded:
    from .flows import flows_to_instances
    from .watershed import ChannelFigures, auto_threshold

    ndim = channels.ndim - 1
    # the flow's components in axis order; a 3D set without Gz flows within its sections
    flows = np.stack(
        [
            channels[planes.index(code)] if code in planes else np.zeros(channels.shape[1:])
            for code in ("Gz", "Gv", "Gh")[3 - ndim :]
        ]
    )
    if "F" in planes:
        foreground = channels[planes.index("F")] > settings.fg_thresh
        source = f"F > {settings.fg_thresh}"
    elif "B" in planes:
        foreground = channels[planes.index("B")] < settings.fg_thresh
        source = f"B < {settings.fg_thresh}"
    else:
        distance = channels[planes.index("Db")]
        options = ENCODERS["Db"].resolve_options(channel_options.get("Db", {}), ndim)
        if options["background"] < 0:
            # Omnipose's distance: below 0 outside the instances
            cut, how = settings.mask_threshold, "mask threshold"
        else:
            cut, how = auto_threshold("Db", ChannelFigures(distance), growth=True), "Otsu / 2"
        foreground, source = distance > cut, f"Db > {cut:.4g} ({how})"
    gradient_type = ENCODERS["Gv"].resolve_options(channel_options.get("Gv", {}), ndim)[
        "gradient_type"
    ]
    result = flows_to_instances(
        flows,
        foreground,
        n_steps=settings.n_steps,
        flow_threshold=settings.flow_threshold,
        gradient_type=gradient_type,
    )
    used = {"decoder": "gradient-flow", "foreground": source, **result.settings}
    return Decoded(result.labels, "gradient-flow", used)


def _run_watershed(
    channels: np.ndarray, planes: list[str], settings: WatershedSettings, channel_options: dict
) -> Decoded:
    from .watershed import watershed_from_channels

    result = watershed_from_channels(channels, planes, settings)

    def debug() -> dict:
        return {
            "seed_map": result.seed_map.astype(np.uint32),
            "semantic": result.surface,
            "foreground": result.growth_mask.astype(np.uint8),
        }

    return Decoded(result.labels, "watershed", {"decoder": "watershed", **result.settings}, debug)


register_decoder(
    Decoder("stardist", ("R",), "PROBLEM.INSTANCE_SEG.STARDIST", StarDistSettings, _run_stardist)
)
register_decoder(
    Decoder("embeddings", ("E",), "PROBLEM.INSTANCE_SEG.EMBEDSEG", EmbedSegSettings, _run_embedseg)
)
register_decoder(
    Decoder(
        "gradient-flow",
        ("Gh", "Gv", "Gz"),
        "PROBLEM.INSTANCE_SEG.CELLPOSE",
        GradientFlowSettings,
        _run_gradient_flow,
    )
)
register_decoder(
    Decoder(
        "watershed",
        (),
        "PROBLEM.INSTANCE_SEG.WATERSHED",
        WatershedSettings,
        _run_watershed,
    )
)
