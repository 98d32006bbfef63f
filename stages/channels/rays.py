"""R: StarDist radial distances, and the star-convex geometry the decoder shares with them.

Everything lives in index space ((Y, X) or (Z, Y, X) voxel units): a ray is a unit
vector there, a distance is a number of voxels along it. Anisotropy only changes
which directions the rays point in (denser along the coarse axis), as in StarDist,
so encoding and decoding agree whatever the voxel size.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..labels.morphology import as_volume

DEFAULT_RAYS = {2: 32, 3: 96}
#: float32 values of the buffer R's lengths pass through (64 MiB)
DENSE_VALUES = 2**24


@dataclass(frozen=True)
class Rays:
    """Ray directions (n, ndim) in index order and the faces (simplices) between neighbouring
    rays."""

    directions: np.ndarray
    faces: np.ndarray

    @property
    def ndim(self) -> int:
        return int(self.directions.shape[1])


@lru_cache(maxsize=16)
def _make_rays(nrays: int, ndim: int, anisotropy: tuple[float, ...] | None) -> Rays:
    if ndim == 2:
        angles = 2 * np.pi * np.arange(nrays) / nrays
        directions = np.stack([np.sin(angles), np.cos(angles)], axis=1)
        faces = np.stack([np.arange(nrays), (np.arange(nrays) + 1) % nrays], axis=1)
    else:
        if nrays < 4:
            raise ValueError(f"3D rays need nrays >= 4, got {nrays}")
        # golden spiral over the sphere, as StarDist's Rays_GoldenSpiral (x, y, z), then index order
        phi = (3.0 - np.sqrt(5.0)) * np.pi * np.arange(nrays)
        z = np.linspace(-1.0, 1.0, nrays)
        rho = np.sqrt(np.maximum(0.0, 1.0 - z**2))
        directions = np.stack([z, rho * np.sin(phi), rho * np.cos(phi)], axis=1)
        if anisotropy is not None:
            directions = directions / np.asarray(anisotropy, dtype=np.float64)
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        from scipy.spatial import ConvexHull

        faces = ConvexHull(directions).simplices
    if ndim == 2 and anisotropy is not None:
        directions = directions / np.asarray(anisotropy, dtype=np.float64)
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    directions.setflags(write=False)
    faces = np.ascontiguousarray(faces, dtype=np.int64)
    faces.setflags(write=False)
    return Rays(directions, faces)


def check_ray_options(options: dict, ndim: int) -> None:
    """ValueError for R options no rays can be made from."""
    nrays = options["nrays"]
    if not isinstance(nrays, int) or isinstance(nrays, bool) or nrays < (3 if ndim == 2 else 4):
        raise ValueError(
            f"R option 'nrays' must be an integer >= {3 if ndim == 2 else 4}, got {nrays!r}"
        )
    if options["norm"]:
        raise ValueError(
            "R option 'norm' must be false: ray lengths are regressed in voxels so that polygons "
            "keep their size"
        )
    anisotropy = options["anisotropy"]
    if anisotropy is not None and (
        not isinstance(anisotropy, (list, tuple))
        or len(anisotropy) != ndim
        or not all(isinstance(a, (int, float)) and a > 0 for a in anisotropy)
    ):
        raise ValueError(
            f"R option 'anisotropy' must hold {ndim} positive numbers, got {anisotropy!r}"
        )


def make_rays(nrays: int | None, ndim: int, anisotropy=None) -> Rays:
    """The rays of an R channel: evenly spaced angles in 2D, a golden spiral in 3D.

    ``anisotropy`` is the voxel size ratio per axis in index order (e.g. (2, 1, 1) for
    Z twice as coarse); rays lean towards the coarse axis as in StarDist.
    """
    nrays = int(nrays or DEFAULT_RAYS[ndim])
    if nrays < 3:
        raise ValueError(f"R needs at least 3 rays, got {nrays}")
    if anisotropy is not None:
        anisotropy = tuple(float(a) for a in anisotropy)
        if len(anisotropy) != ndim or min(anisotropy) <= 0:
            raise ValueError(
                f"R option 'anisotropy' must hold {ndim} positive numbers, got {list(anisotropy)}"
            )
    return _make_rays(nrays, ndim, anisotropy)


def encode_radial_distances(
    labels: np.ndarray,
    *,
    nrays: int | None = None,
    anisotropy=None,
    norm: bool = False,
    mask_values: bool = True,
) -> np.ndarray:
    """R: for every instance pixel, the distance to its instance's boundary along each ray (0
    outside).

    Returns (nrays, [Z,] Y, X) float32 in voxels along each (unit, index-space) ray.
    """
    if norm:
        raise ValueError(
            "R option 'norm' must be false: ray lengths are regressed in voxels so that polygons "
            "keep their size"
        )
    from ..threads import kernel_threads
    from ._star_kernels import star_distances  # numba: compiled on first use only

    rays = make_rays(nrays, labels.ndim, anisotropy)
    if labels.dtype.kind != "u" or labels.dtype.itemsize not in (4, 8):
        labels = labels.astype(np.uint32)
    count = int(labels.max(initial=0)) + 1
    if count > labels.size + 1:
        # per-id tables are sized by the largest id: number sparse ids consecutively first
        ids = np.unique(labels)
        ids = ids[ids > 0]
        labels = np.where(labels > 0, np.searchsorted(ids, labels) + 1, 0).astype(np.uint32)
        count = ids.size + 1
    directions = rays.directions
    if labels.ndim == 2:
        # one plane, rays with no z component: the same kernel, the same arithmetic as in 2D
        directions = np.concatenate([np.zeros((directions.shape[0], 1)), directions], axis=1)
    # zeroed by the system as the kernel first writes each page (numpy asks for huge pages):
    # the kernel writes the foreground only
    out = np.zeros((directions.shape[0],) + labels.shape, np.float32)
    volume = as_volume(np.ascontiguousarray(labels))
    foreground = max(1, int(np.count_nonzero(volume)))
    # the lengths of a few rays at a time pass through a dense buffer of the foreground voxels
    chunk = max(1, min(directions.shape[0], DENSE_VALUES // foreground))
    dense = np.empty((chunk, foreground), np.float32)
    star_distances(
        volume,
        np.ascontiguousarray(directions),
        count,
        out.reshape((directions.shape[0],) + volume.shape),
        dense,
        8 * kernel_threads(),
    )
    return out
