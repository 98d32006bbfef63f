"""Training and validation samples left out by their properties (BiaPy's FILTER_SAMPLES).

A filter is a list of condition groups, ``[["foreground", "mean"], ["max"]]`` with values
and signs of the same shape: a sample (a patch, or a whole image with FILTER_BY_IMAGE) that
meets every condition of any one group is left out. Properties: ``foreground`` (the share of
labelled pixels), ``mean``/``min``/``max`` of the image over all its channels (raw values, or
normalised with NORM_BEFORE) and ``target_mean``/``target_min``/``target_max`` of the label
image.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: the properties a condition can test
IMAGE_PROPERTIES = ("mean", "min", "max")
LABEL_PROPERTIES = ("foreground", "target_mean", "target_min", "target_max")
PROPERTIES = IMAGE_PROPERTIES + LABEL_PROPERTIES

#: BiaPy's properties that compare raw intensities with the labels pixel by pixel: meaningless
#: for instance ids (their values are arbitrary names)
REFUSED_PROPERTIES = ("diff", "diff_by_min_max_ratio", "diff_by_target_min_max_ratio")

SIGNS = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}


@dataclass(frozen=True)
class Condition:
    prop: str
    sign: str
    value: float


@dataclass(frozen=True)
class SampleFilter:
    """Condition groups: a sample meeting all conditions of one group is left out."""

    groups: tuple[tuple[Condition, ...], ...]
    normalized: bool = False  # the image properties on the normalised image (NORM_BEFORE)

    @property
    def properties(self) -> set[str]:
        return {c.prop for group in self.groups for c in group}

    @property
    def needs_labels(self) -> bool:
        return bool(self.properties & set(LABEL_PROPERTIES))

    @property
    def needs_raw(self) -> bool:
        return not self.normalized and bool(self.properties & set(IMAGE_PROPERTIES))

    def leaves_out(self, image: np.ndarray | None, labels: np.ndarray | None) -> bool:
        """Whether a sample meets every condition of some group. ``image``: its pixels (any
        shape, all channels), raw or normalised as :attr:`normalized` says; ``labels``: its
        instance ids (the foreground suffices for ``foreground`` alone)."""
        found: dict[str, float] = {}

        def value_of(prop: str) -> float:
            if prop not in found:
                found[prop] = _property(prop, image, labels)
            return found[prop]

        return any(
            all(SIGNS[c.sign](value_of(c.prop), c.value) for c in group) for group in self.groups
        )


def _property(prop: str, image: np.ndarray | None, labels: np.ndarray | None) -> float:
    if prop in IMAGE_PROPERTIES:
        values = np.asarray(image)
        return float({"mean": np.mean, "min": np.min, "max": np.max}[prop](values))
    values = np.asarray(labels)
    if prop == "foreground":
        return float(np.count_nonzero(values)) / max(values.size, 1)
    return float({"target_mean": np.mean, "target_min": np.min, "target_max": np.max}[prop](values))


def sample_filter(
    props: Sequence[Sequence[str]],
    values: Sequence[Sequence[float]],
    signs: Sequence[Sequence[str]],
    normalized: bool = False,
) -> SampleFilter:
    """The filter of BiaPy's PROPS, VALUES and SIGNS lists (one group per inner list);
    ValueError naming the first mismatch."""
    if not (len(props) == len(values) == len(signs)):
        raise ValueError(
            f"PROPS, VALUES and SIGNS need one list per condition group, got {len(props)}, "
            f"{len(values)} and {len(signs)}"
        )
    groups = []
    for index, (group_props, group_values, group_signs) in enumerate(zip(props, values, signs)):
        if not (len(group_props) == len(group_values) == len(group_signs)) or not group_props:
            raise ValueError(
                f"group {index + 1}: {list(group_props)}, {list(group_values)} and "
                f"{list(group_signs)} need one property, value and sign each"
            )
        conditions = []
        for prop, value, sign in zip(group_props, group_values, group_signs):
            if prop in REFUSED_PROPERTIES:
                raise ValueError(
                    f"property {prop!r} is not supported in segpipe: it compares raw "
                    "intensities with instance ids pixel by pixel, which means nothing for "
                    "instance labels"
                )
            if prop not in PROPERTIES:
                raise ValueError(f"unknown property {prop!r}: one of {', '.join(PROPERTIES)}")
            if sign not in SIGNS:
                raise ValueError(f"unknown sign {sign!r}: one of {', '.join(SIGNS)}")
            conditions.append(Condition(prop, sign, float(value)))
        groups.append(tuple(conditions))
    return SampleFilter(tuple(groups), normalized)
