"""A: affinities, one plane per neighbour offset of half the neighbourhood.

The plane for offset o holds 1 at a pixel p when p and p - o lie in the same instance
(and p is not background), else 0. Half the neighbourhood suffices: the affinity
between p and p + o is stored at p + o.
"""
from __future__ import annotations

import itertools

import numpy as np

NEIGHBOURHOODS = {2: ("4-connectivity", "8-connectivity"), 3: ("6-connectivity", "18-connectivity", "26-connectivity")}
DEFAULT_NEIGHBOURHOOD = {2: "8-connectivity", 3: "26-connectivity"}


def affinity_offsets(neighborhood: str | None, ndim: int) -> list[tuple[int, ...]]:
    """Offsets of half the neighbourhood, first non-zero component positive; faces first."""
    neighborhood = neighborhood or DEFAULT_NEIGHBOURHOOD[ndim]
    if neighborhood not in NEIGHBOURHOODS[ndim]:
        raise ValueError(f"A option 'neighborhood' in {ndim}D must be one of {list(NEIGHBOURHOODS[ndim])}, got {neighborhood!r}")
    reach = {"4": 1, "6": 1, "8": 2, "18": 2, "26": 3}[neighborhood.split("-")[0]]
    offsets = []
    for offset in itertools.product((-1, 0, 1), repeat=ndim):
        nonzero = [c for c in offset if c]
        if nonzero and nonzero[0] > 0 and len(nonzero) <= reach:
            offsets.append(offset)
    return sorted(offsets, key=lambda o: (sum(map(abs, o)), [-c for c in o]))


def affinity_plane_names(neighborhood: str | None, ndim: int) -> list[str]:
    return ["A[" + ",".join(str(c) for c in offset) + "]" for offset in affinity_offsets(neighborhood, ndim)]


def offsets_from_plane_names(names: list[str]) -> list[tuple[int, ...]]:
    """Inverse of :func:`affinity_plane_names`."""
    try:
        return [tuple(int(c) for c in name[2:-1].split(",")) for name in names]
    except ValueError:
        raise ValueError(f"affinity planes must be named like 'A[1,0]', got {names}") from None


def _shifted(array: np.ndarray, offset: tuple[int, ...], fill) -> np.ndarray:
    """out[p] = array[p - offset], ``fill`` where p - offset leaves the image."""
    out = np.full_like(array, fill)
    target = tuple(slice(max(o, 0), array.shape[a] + min(o, 0)) for a, o in enumerate(offset))
    source = tuple(slice(max(-o, 0), array.shape[a] + min(-o, 0)) for a, o in enumerate(offset))
    out[target] = array[source]
    return out


def encode_affinities(labels: np.ndarray, *, neighborhood: str | None = None) -> np.ndarray:
    """(n_offsets, [Z,] Y, X) 0/1 affinities of ``labels``."""
    offsets = affinity_offsets(neighborhood, labels.ndim)
    out = np.zeros((len(offsets),) + labels.shape, dtype=np.float32)
    for index, offset in enumerate(offsets):
        # compare the overlapping slices only: no shifted copy of the image
        target = tuple(slice(max(o, 0), labels.shape[a] + min(o, 0)) for a, o in enumerate(offset))
        source = tuple(slice(max(-o, 0), labels.shape[a] + min(-o, 0)) for a, o in enumerate(offset))
        here = labels[target]
        out[index][target] = (here > 0) & (here == labels[source])
    return out


def aggregate_affinities(planes: np.ndarray, offsets: list[tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """The spec's aggregated map (minimum over planes) and a foreground map.

    The foreground of a pixel is its strongest affinity to any neighbour, on either side:
    the minimum alone misses the boundary row on one side of every object.
    """
    aggregated = planes.min(axis=0)
    foreground = planes.max(axis=0)
    for plane, offset in zip(planes, offsets):
        # the affinity between p and p + o is stored at p + o
        np.maximum(foreground, _shifted(plane, tuple(-c for c in offset), 0), out=foreground)
    return aggregated, foreground
