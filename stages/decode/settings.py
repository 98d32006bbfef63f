"""The decoders' settings: frozen dataclasses with plain values (pure Python, light to import).

The decode command builds them from the config; the decoders take them as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class StarDistSettings:
    """StarDist's NMS: probability cut, overlap cut, overlap measure ('auto': union in 2D,
    smaller in 3D, as StarDist)."""

    prob_thresh: float = 0.4
    nms_thresh: float = 0.3
    overlap: str = "auto"


@dataclass(frozen=True)
class EmbedSegSettings:
    """EmbedSeg's clustering thresholds (see :func:`.embedseg.cluster_embeddings`)."""

    seed_thresh: float = 0.9
    fg_thresh: float = 0.5
    min_mask_sum: int = 0
    min_unclustered_sum: int = 0
    min_object_size: int = 100


@dataclass(frozen=True)
class GradientFlowSettings:
    """Flow following (see :func:`.flows.flows_to_instances`): the foreground cut of F or B
    (Db, without either: ``mask_threshold`` for a Db with a negative background, BiaPy's
    Omnipose distance, else Otsu / 2), the flow error above which an instance is dropped (0:
    no check), and the steps each pixel takes."""

    fg_thresh: float = 0.5
    flow_threshold: float = 0.4
    n_steps: int = 200
    mask_threshold: float = 0.0


@dataclass(frozen=True)
class WatershedSettings:
    """How :func:`watershed_from_channels` turns channels into instances (its keyword arguments).

    Empty channel lists and an empty surface are inferred from the channel codes
    (:func:`infer_watershed_defaults`); thresholds are a number or 'auto' per channel.
    """

    seed_channels: tuple[str, ...] = ()
    seed_thresholds: tuple[float | str, ...] = ()
    surface_channel: str = ""
    growth_channels: tuple[str, ...] = ()
    growth_thresholds: tuple[float | str, ...] = ()
    seed_morph_sequence: tuple[str, ...] = ()
    seed_morph_radius: tuple[int, ...] = ()
    erode_and_dilate_growth_mask: bool = False
    fore_erosion_radius: int = 5
    fore_dilation_radius: int = 5
    remove_small_before: int = 10
    remove_before: bool = False
    by_2d_slices: bool = False
    fragment_fraction: float = 0.05
    label_unseeded: bool = True

    def resolved(self, codes: Sequence[str]) -> WatershedSettings:
        """These settings with the inferred channels filled in and checked against ``codes``."""
        inferred_seeds, inferred_surface, inferred_growth = infer_watershed_defaults(codes)
        settings = replace(
            self,
            seed_channels=tuple(self.seed_channels) or tuple(inferred_seeds),
            surface_channel=self.surface_channel or inferred_surface,
            growth_channels=tuple(self.growth_channels) or tuple(inferred_growth),
        )
        for name, chosen in (
            ("seed_channels", settings.seed_channels),
            ("growth_channels", settings.growth_channels),
            ("surface_channel", [settings.surface_channel]),
        ):
            missing = [c for c in chosen if c not in codes]
            if missing:
                raise ValueError(
                    f"`{name}` {missing} not among the predicted channels {list(codes)}"
                )
        for name, chosen, thresholds in (
            ("seed_thresholds", settings.seed_channels, settings.seed_thresholds),
            ("growth_thresholds", settings.growth_channels, settings.growth_thresholds),
        ):
            if thresholds and len(thresholds) != len(chosen):
                raise ValueError(
                    f"`{name}` has {len(thresholds)} value(s) for {len(chosen)} channel(s)"
                )
        return settings


def infer_watershed_defaults(codes: Sequence[str]) -> tuple[list[str], str, list[str]]:
    """Seed channels, topographic surface and growth-mask channels for a channel set.

    Follows BiaPy's table (F,C -> seeds F,C, surface F, mask F; F,P -> seeds P; ...)
    and extends it to the sets BiaPy rejects (any set with B; F with T): the
    foreground-like channel gives surface and mask, every other channel sharpens seeds.
    """
    codes = [c for c in codes]
    if "A" in codes:
        return ["A"], "A", ["F"]
    from ..channels import ENCODERS

    ranked = [c for c in codes if c in ENCODERS and ENCODERS[c].foreground_rank is not None]
    main = min(ranked, key=lambda c: ENCODERS[c].foreground_rank) if ranked else codes[0]
    if "P" in codes:
        seeds = ["P"]
    else:
        seeds = [main] + [c for c in codes if c != main]
    return seeds, main, [main]
