"""Removal of instances by their measured properties (BiaPy's REMOVE_BY_PROPERTIES).

Conditions come in groups: an instance is removed when it satisfies every condition of at
least one group (``[['area'], ['npixels', 'circularity']]`` removes the large instances and
the small round ones). The measurements are those of :func:`stages.measure.measure_instances`.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: comparison names and what they test (BiaPy's SIGNS)
SIGNS = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}
#: the properties a condition may test (BiaPy's names)
CONDITION_PROPERTIES = (
    "circularity",
    "elongation",
    "npixels",
    "area",
    "diameter",
    "perimeter",
    "sphericity",
)
#: the words of the `conditions` and `comment` columns (the spec's)
SATISFIED, NOT_SATISFIED = "Satisfied", "No satisfied"
REMOVED, CORRECT = "Removed", "Correct"


@dataclass(frozen=True)
class Condition:
    """One test of a measured property, such as ``npixels lt 100``."""

    property: str
    sign: str
    value: float

    def __post_init__(self) -> None:
        if self.property not in CONDITION_PROPERTIES:
            raise ValueError(
                f"unknown property {self.property!r}; valid: {', '.join(CONDITION_PROPERTIES)}"
            )
        if self.sign not in SIGNS:
            raise ValueError(f"unknown sign {self.sign!r}; valid: {', '.join(SIGNS)}")

    def __str__(self) -> str:
        return f"{self.property} {self.sign} {self.value:g}"


def _column(prop: str, ndim: int) -> str:
    """The measurement column a property reads: circularity and sphericity are one measure
    (the one of the data's rank), perimeter is the surface area in 3D."""
    if prop in ("circularity", "sphericity"):
        return "circularity" if ndim == 2 else "sphericity"
    if prop == "perimeter" and ndim == 3:
        return "surface_area"
    if prop == "elongation" and ndim == 3:
        raise ValueError("elongation is measured in 2D only; use sphericity in 3D")
    return prop


def satisfied_groups(
    table: pd.DataFrame, groups: Sequence[Sequence[Condition]], ndim: int
) -> np.ndarray:
    """For each instance (row) and group, whether it satisfies all the group's conditions.

    Returns
    -------
    A boolean array (instances, groups).
    """
    result = np.ones((len(table), len(groups)), dtype=bool)
    for index, group in enumerate(groups):
        for condition in group:
            values = table[_column(condition.property, ndim)].to_numpy(dtype=float)
            result[:, index] &= SIGNS[condition.sign](values, condition.value)
    return result


def remove_by_properties(
    labels: np.ndarray, table: pd.DataFrame, groups: Sequence[Sequence[Condition]]
) -> tuple[np.ndarray, pd.DataFrame]:
    """Remove the instances that satisfy every condition of a group.

    Parameters
    ----------
    labels
        Instance labels, (Y,X) or (Z,Y,X).
    table
        One row per instance of ``labels`` with a ``label`` column and the measurements
        (:func:`stages.measure.measure_instances`).
    groups
        Groups of conditions; an empty list removes nothing.

    Returns
    -------
    labels, table
        The labels without the removed instances (ids unchanged), and ``table`` with two
        more columns: ``conditions`` (per group, 'Satisfied' or 'No satisfied') and
        ``comment`` ('Removed' or 'Correct').
    """
    out, gone = judge_by_properties(table, groups, labels.ndim)
    kept = np.where(np.isin(labels, gone), 0, labels).astype(labels.dtype, copy=False)
    return kept, out


def judge_by_properties(
    table: pd.DataFrame, groups: Sequence[Sequence[Condition]], ndim: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """``table`` with its ``conditions`` and ``comment`` columns (see
    :func:`remove_by_properties`), and the ids of the instances to remove."""
    satisfied = satisfied_groups(table, groups, ndim)
    removed = satisfied.any(axis=1)
    out = table.copy(deep=False)  # new columns only: the measurements are not copied
    out["conditions"] = _conditions_column(satisfied)
    out["comment"] = pd.Categorical.from_codes(removed.astype(np.int8), [CORRECT, REMOVED])
    return out, table["label"].to_numpy()[removed]


def _conditions_column(satisfied: np.ndarray) -> pd.Categorical:
    """BiaPy's per-instance list of "Satisfied"/"No satisfied" (one per condition group), as a
    categorical: a table of a hundred thousand instances holds a few distinct strings, not one
    string per row."""
    if len(satisfied) == 0:
        return pd.Categorical([])
    patterns, codes = np.unique(satisfied, axis=0, return_inverse=True)
    names = [str([SATISFIED if flag else NOT_SATISFIED for flag in row]) for row in patterns]
    return pd.Categorical.from_codes(codes.reshape(-1), names)
