"""A: affinities, one plane per neighbour offset of half the neighbourhood.

The plane for offset o holds 1 at a pixel p when p and p - o lie in the same instance
(and p is not background), else 0. Half the neighbourhood suffices: the affinity
between p and p + o is stored at p + o.

Offsets come from the spec's ``neighborhood`` or, as in BiaPy 3.7 configurations, from
paired ``z_affinities``/``y_affinities``/``x_affinities`` distances (entry k gives the
offsets (z_k,0,0), (0,y_k,0), (0,0,x_k); long-range affinities for k > 1), optionally
after BiaPy's ``widen_borders`` (pixels whose in-slice window holds two instances
become background).
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from .._lazy import lazy_import
from ..labels.morphology import as_volume

# scipy and scikit-image load at first use: `segpipe predict` reads this module only for
# its metadata (see stages._lazy)
ndi = lazy_import("scipy.ndimage")

NEIGHBOURHOODS = {
    2: ("4-connectivity", "8-connectivity"),
    3: ("6-connectivity", "18-connectivity", "26-connectivity"),
}
DEFAULT_NEIGHBOURHOOD = {2: "8-connectivity", 3: "26-connectivity"}


AXIS_LISTS = ("z_affinities", "y_affinities", "x_affinities")


def affinity_offsets(
    neighborhood: str | None,
    ndim: int,
    z_affinities: list[int] | None = None,
    y_affinities: list[int] | None = None,
    x_affinities: list[int] | None = None,
) -> list[tuple[int, ...]]:
    """Offsets of half the neighbourhood (first non-zero component positive; faces first), or
    the axis offsets of BiaPy's paired distance lists when any is given."""
    lists = {
        "z_affinities": z_affinities,
        "y_affinities": y_affinities,
        "x_affinities": x_affinities,
    }
    if any(v is not None for v in lists.values()):
        return _axis_list_offsets(lists, ndim)
    neighborhood = neighborhood or DEFAULT_NEIGHBOURHOOD[ndim]
    if neighborhood not in NEIGHBOURHOODS[ndim]:
        raise ValueError(
            f"A option 'neighborhood' in {ndim}D must be one of {list(NEIGHBOURHOODS[ndim])}, "
            f"got {neighborhood!r}"
        )
    return list(_neighbourhood_offsets(neighborhood, ndim))


@functools.cache
def _neighbourhood_offsets(neighborhood: str, ndim: int) -> tuple[tuple[int, ...], ...]:
    # five neighbourhoods in all, asked for by the option check and by every encoding
    reach = {"4": 1, "6": 1, "8": 2, "18": 2, "26": 3}[neighborhood.split("-")[0]]
    offsets = []
    for offset in itertools.product((-1, 0, 1), repeat=ndim):
        nonzero = [c for c in offset if c]
        if nonzero and nonzero[0] > 0 and len(nonzero) <= reach:
            offsets.append(offset)
    return tuple(sorted(offsets, key=lambda o: (sum(map(abs, o)), [-c for c in o])))


def _axis_list_offsets(lists: dict[str, list[int] | None], ndim: int) -> list[tuple[int, ...]]:
    names = AXIS_LISTS[3 - ndim :]
    if ndim == 2 and lists["z_affinities"] is not None:
        raise ValueError("A option 'z_affinities' needs 3D data")
    given = {name: lists[name] if lists[name] is not None else [1] for name in names}
    for name, distances in given.items():
        if (
            not isinstance(distances, list)
            or not distances
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in distances)
        ):
            raise ValueError(
                f"A option {name!r} must be a non-empty list of positive integers, got "
                f"{distances!r}"
            )
    if len({len(d) for d in given.values()}) != 1:
        raise ValueError(
            f"A options {list(names)} are paired by index and must have equal lengths, got "
            f"{[len(d) for d in given.values()]}"
        )
    offsets = []
    for distances in zip(*given.values()):
        for axis, distance in enumerate(distances):
            offset = [0] * ndim
            offset[axis] = distance
            if tuple(offset) not in offsets:
                offsets.append(tuple(offset))
    return offsets


def affinity_plane_names(
    neighborhood: str | None, ndim: int, **axis_lists: list[int] | None
) -> list[str]:
    return [
        "A[" + ",".join(str(c) for c in offset) + "]"
        for offset in affinity_offsets(neighborhood, ndim, **axis_lists)
    ]


def widen_instance_borders(labels: np.ndarray, radius: int) -> np.ndarray:
    """Pixels whose in-slice (2r+1)^2 window holds more than one instance become background (BiaPy,
    PNI)."""
    if radius <= 0 or labels.max(initial=0) == 0:
        return labels
    size = (1,) * (labels.ndim - 2) + (2 * radius + 1,) * 2
    highest = ndi.maximum_filter(labels, size=size, mode="reflect")
    # background must not count as an instance: hide it from the minimum
    sentinel = np.iinfo(labels.dtype).max if labels.dtype.kind in "ui" else labels.max() + 1
    lowest = ndi.minimum_filter(np.where(labels == 0, sentinel, labels), size=size, mode="reflect")
    return np.where(highest == lowest, labels, 0).astype(labels.dtype, copy=False)


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


def encode_affinities(
    labels: np.ndarray,
    *,
    neighborhood: str | None = None,
    z_affinities: list[int] | None = None,
    y_affinities: list[int] | None = None,
    x_affinities: list[int] | None = None,
    widen_borders: int = 0,
) -> np.ndarray:
    """(n_offsets, [Z,] Y, X) float32 affinities of ``labels``: 1 where p and p - offset hold the
    same instance."""
    from ._encoding_kernels import affinity_planes

    offsets = affinity_offsets(neighborhood, labels.ndim, z_affinities, y_affinities, x_affinities)
    labels = widen_instance_borders(labels, widen_borders)
    # one compiled pass per plane over the overlapping rows: no shifted copy, no temporaries
    steps = np.zeros((len(offsets), 3), dtype=np.int64)
    steps[:, 3 - labels.ndim :] = np.asarray(offsets, dtype=np.int64).reshape(
        len(offsets), labels.ndim
    )
    # float32 written straight into numpy's zeroed (huge) pages: no byte planes and cast
    out = np.zeros((len(offsets),) + labels.shape, np.float32)
    volume = as_volume(labels)
    affinity_planes(volume, steps, out.reshape((len(offsets),) + volume.shape))
    return out


def aggregate_affinities(
    planes: np.ndarray, offsets: list[tuple[int, ...]]
) -> tuple[np.ndarray, np.ndarray]:
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
