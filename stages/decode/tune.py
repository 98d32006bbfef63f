"""Decoder thresholds tuned on validation images (beyond BiaPy; StarDist tunes its own).

Each candidate setting decodes every validation image and is scored by the mean F1 at IoU
0.5 against the ground truth; the best wins, and the setting the config already gives is
the first candidate, so it stays unless another does strictly better.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..channels import plane_code
from ..metrics import match_instances
from . import DECODERS, decode_channels, decoder_for

#: watershed thresholds are searched this many spreads (1st to 99th percentile) / 10 around
#: the config's (Otsu's where 'auto'), on either side
WATERSHED_STEPS = (-3, -2, -1, 0, 1, 2, 3)
STARDIST_PROBABILITIES = tuple(np.round(np.arange(0.1, 0.91, 0.1), 2))
STARDIST_OVERLAPS = (0.3, 0.4, 0.5)
EMBEDSEG_SEEDS = tuple(np.round(np.arange(0.5, 0.96, 0.05), 2))
#: gradient flow: the foreground cut, and the flow error that drops an instance (0: none)
FLOW_FOREGROUNDS = (0.3, 0.4, 0.5, 0.6, 0.7)
FLOW_ERRORS = (0.0, 0.4, 0.8)
#: the fields each decoder but the watershed searches, and their values
_GRIDS = {
    "stardist": (("prob_thresh", STARDIST_PROBABILITIES), ("nms_thresh", STARDIST_OVERLAPS)),
    "gradient-flow": (("fg_thresh", FLOW_FOREGROUNDS), ("flow_threshold", FLOW_ERRORS)),
    "embeddings": (("seed_thresh", EMBEDSEG_SEEDS),),
}


@dataclass(frozen=True)
class ValidationImage:
    """Predicted channels of one validation image and its ground truth."""

    channels: np.ndarray
    planes: list[str]
    truth: np.ndarray


@dataclass(frozen=True)
class Tuned:
    decoder: str
    #: the decoder's settings fields that tuning sets, and their values
    thresholds: dict[str, Any]
    #: mean F1 at IoU 0.5 with the config's settings and with the tuned ones
    f1_before: float
    f1_after: float
    #: every candidate tried: (its threshold fields, mean F1)
    tried: list[tuple[dict[str, Any], float]]


def mean_f1(
    images: Sequence[ValidationImage],
    decoder: str,
    settings: Any,
    channel_options: dict,
) -> float:
    """Mean F1 at IoU 0.5 of decoding ``images`` with ``settings``."""
    scores = []
    for image in images:
        labels = decode_channels(
            image.channels, image.planes, {decoder: settings}, channel_options, requested=decoder
        ).labels
        scores.append(match_instances(image.truth, labels, [0.5])[0].stats["f1"])
    return float(np.mean(scores))


def _plane_values(images: Sequence[ValidationImage], code: str) -> np.ndarray:
    return np.concatenate(
        [
            image.channels[image.planes.index(code)].ravel()
            for image in images
            if code in image.planes
        ]
    )


def _per_channel(used: dict[str, float], channels: Sequence[str]) -> list[float]:
    """The threshold each channel was cut at ('auto' resolved), in the channels' order; flows
    cut together are keyed 'H+V'."""
    return [
        float(next(value for key, value in used.items() if code in key.split("+")))
        for code in channels
    ]


def _watershed_candidates(
    images: Sequence[ValidationImage], settings: Any, channel_options: dict
) -> list[dict[str, Any]]:
    """The config's thresholds, then a grid around them on the first seed and mask channels."""
    first = images[0]
    used = decode_channels(
        first.channels,
        first.planes,
        {"watershed": settings},
        channel_options,
        requested="watershed",
    ).settings
    resolved = settings.resolved(list(dict.fromkeys(plane_code(p) for p in first.planes)))
    seeds = _per_channel(used["seed_thresholds"], resolved.seed_channels)
    growth = _per_channel(used["growth_thresholds"], resolved.growth_channels)
    spreads = []
    for code in (resolved.seed_channels[0], resolved.growth_channels[0]):
        low, high = np.percentile(_plane_values(images, code), (1, 99))
        spreads.append(max(float(high - low), 1e-6) / 10)
    candidates = [{"seed_thresholds": tuple(seeds), "growth_thresholds": tuple(growth)}]
    for seed_step in WATERSHED_STEPS:
        for growth_step in WATERSHED_STEPS:
            if seed_step == growth_step == 0:
                continue
            candidates.append(
                {
                    "seed_thresholds": (seeds[0] + seed_step * spreads[0], *seeds[1:]),
                    "growth_thresholds": (growth[0] + growth_step * spreads[1], *growth[1:]),
                }
            )
    return candidates


def candidates_for(
    decoder: str, settings: Any, images: Sequence[ValidationImage], channel_options: dict
) -> list[dict[str, Any]]:
    """The threshold fields to try, the config's own first."""
    if decoder == "watershed":
        return _watershed_candidates(images, settings, channel_options)
    fields = _GRIDS[decoder]
    # the last field varies slowest: a tie goes to the first tried
    grid = [
        {name: float(value) for (name, _), value in zip(fields, reversed(combination), strict=True)}
        for combination in itertools.product(*(values for _, values in reversed(fields)))
    ]
    own = {name: getattr(settings, name) for name, _ in fields}
    return [own] + [c for c in grid if c != own]


def tune_thresholds(
    images: Sequence[ValidationImage],
    settings: dict | None = None,
    channel_options: dict | None = None,
    *,
    requested: str = "",
) -> Tuned:
    """The decoder thresholds with the best mean F1 at IoU 0.5 on ``images``.

    Parameters
    ----------
    images
        Validation images: predicted channels, their plane codes, ground-truth labels.
    settings
        Settings per decoder name, as :func:`decode_channels` takes them.
    requested
        A decoder name; empty: the one the channels select.
    """
    if not images:
        raise ValueError("tuning needs at least one validation image")
    options = channel_options or {}
    codes = list(dict.fromkeys(plane_code(p) for p in images[0].planes))
    name = decoder_for(codes, requested)
    base = (settings or {}).get(name) or DECODERS[name].settings()
    tried = []
    for candidate in candidates_for(name, base, images, options):
        tried.append((candidate, mean_f1(images, name, replace(base, **candidate), options)))
    scores = [score for _, score in tried]
    best = int(np.argmax(scores))  # the first of equals: the config's own on a tie
    return Tuned(name, tried[best][0], scores[0], scores[best], tried)
