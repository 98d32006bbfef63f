"""StarDist decoding: star-convex polygon (2D) / polyhedron (3D) candidates, NMS, painting.

Shapes are compared as the voxel sets they paint: a voxel belongs to a candidate when
its centre lies inside the star-convex shape spanned by the candidate's rays. The
overlap of two candidates is therefore exact on the grid and covers both whole shapes
(BiaPy only counts voxels inside the intersection of the two bounding boxes).

2D polygons are filled row by row (even-odd rule on pixel centres, as skimage.draw.polygon).
3D inside test: the direction from the centre picks one triangle of 3 rays from a table
that depends only on the integer offset; the voxel is inside when it lies on the centre's
side of the plane through that triangle's vertices.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from ..channels.rays import Rays

OVERLAPS = ("smaller", "union")


@numba.njit(cache=True, nogil=True)
def _assign_faces(offsets, inverses):
    count = offsets.shape[0]
    ndim = offsets.shape[1]
    nfaces = inverses.shape[0]
    out = np.zeros(count, np.int32)
    for n in range(count):
        best = 0
        best_score = -np.inf
        for f in range(nfaces):
            # barycentric weights of the direction in the cone of face f; all >= 0 inside it
            lowest = np.inf
            for a in range(ndim):
                weight = 0.0
                for b in range(ndim):
                    weight += inverses[f, a, b] * offsets[n, b]
                lowest = min(lowest, weight)
            if lowest >= -1e-9:
                best = f
                break
            if lowest > best_score:
                best_score = lowest
                best = f
        out[n] = best
    return out


def face_table(rays: Rays, radius: np.ndarray) -> np.ndarray:
    """Face index for every integer offset in the box [-radius, radius] (flattened, C order)."""
    axes = [np.arange(-r, r + 1, dtype=np.float64) for r in radius]
    offsets = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, rays.ndim)
    matrices = rays.directions[rays.faces].transpose(0, 2, 1)  # columns: the face's ray directions
    inverses = np.linalg.inv(matrices)
    return _assign_faces(offsets, np.ascontiguousarray(inverses))


@numba.njit(cache=True, nogil=True)
def _geometry(distances, directions, faces, normals, heights):
    """Plane of every triangular face of one 3D candidate: inside <=> normal . offset <= height."""
    p = np.empty((3, 3))
    for f in range(faces.shape[0]):
        for v in range(3):
            r = faces[f, v]
            for c in range(3):
                p[v, c] = distances[r] * directions[r, c]
        u0 = p[1, 0] - p[0, 0]
        u1 = p[1, 1] - p[0, 1]
        u2 = p[1, 2] - p[0, 2]
        v0 = p[2, 0] - p[0, 0]
        v1 = p[2, 1] - p[0, 1]
        v2 = p[2, 2] - p[0, 2]
        n0 = u1 * v2 - u2 * v1
        n1 = u2 * v0 - u0 * v2
        n2 = u0 * v1 - u1 * v0
        h = n0 * p[0, 0] + n1 * p[0, 1] + n2 * p[0, 2]
        if h < 0:
            n0, n1, n2, h = -n0, -n1, -n2, -h
        normals[f, 0] = n0
        normals[f, 1] = n1
        normals[f, 2] = n2
        heights[f] = h


@numba.njit(cache=True, nogil=True)
def _box(point, distances, directions, shape, low, high):
    """Tight box of a star-convex shape: the extent of its vertices (and centre)."""
    ndim = directions.shape[1]
    for a in range(ndim):
        lo = 0.0
        hi = 0.0
        for k in range(directions.shape[0]):
            v = distances[k] * directions[k, a]
            lo = min(lo, v)
            hi = max(hi, v)
        low[a] = max(0, int(np.ceil(point[a] + lo - 1e-6)))
        high[a] = min(shape[a], int(np.floor(point[a] + hi + 1e-6)) + 1)


# ------------------------------------------------------------------ 2D: scanline spans
@numba.njit(cache=True, nogil=True)
def _spans_2d(point, distances, directions, low, high, starts, ends, counts):
    """Pixel runs of a polygon per row (even-odd rule on pixel centres, as skimage.draw.polygon)."""
    nrays = directions.shape[0]
    crossings = np.empty(nrays)
    for row in range(high[0] - low[0]):
        y = float(low[0] + row)
        found = 0
        for k in range(nrays):
            m = (k + 1) % nrays
            ya = point[0] + distances[k] * directions[k, 0]
            xa = point[1] + distances[k] * directions[k, 1]
            yb = point[0] + distances[m] * directions[m, 0]
            xb = point[1] + distances[m] * directions[m, 1]
            if (ya <= y < yb) or (yb <= y < ya):
                crossings[found] = xa + (y - ya) * (xb - xa) / (yb - ya)
                found += 1
        crossings[:found].sort()
        runs = 0
        for c in range(0, found - 1, 2):
            first = max(low[1], int(np.ceil(crossings[c] - 1e-9)))
            last = min(high[1] - 1, int(np.floor(crossings[c + 1] + 1e-9)))
            if last >= first:
                starts[row, runs] = first
                ends[row, runs] = last + 1
                runs += 1
        counts[row] = runs


@numba.njit(cache=True, nogil=True)
def _span_area(counts, starts, ends):
    total = 0
    for row in range(counts.shape[0]):
        for r in range(counts[row]):
            total += ends[row, r] - starts[row, r]
    return total


@numba.njit(cache=True, nogil=True)
def _span_intersection(low_a, counts_a, starts_a, ends_a, low_b, high_b, counts_b, starts_b, ends_b, row_from, row_to):
    total = 0
    for y in range(row_from, row_to):
        ra = y - low_a[0]
        rb = y - low_b[0]
        p = 0
        q = 0
        while p < counts_a[ra] and q < counts_b[rb]:
            first = max(starts_a[ra, p], starts_b[rb, q])
            last = min(ends_a[ra, p], ends_b[rb, q])
            if last > first:
                total += last - first
            if ends_a[ra, p] < ends_b[rb, q]:
                p += 1
            else:
                q += 1
    return total


# ------------------------------------------------------------------ 3D: voxel tests against the face planes
@numba.njit(cache=True, nogil=True, inline="always")
def _inside_3d(table, base, oz, oy, ox, normals, heights):
    """Whether offset (oz, oy, ox) lies inside; ``base`` is the face-table index of (oz, oy, 0)."""
    if oz == 0 and oy == 0 and ox == 0:
        return True
    f = table[base + ox]
    return heights[f] > 1e-12 and normals[f, 0] * oz + normals[f, 1] * oy + normals[f, 2] * ox <= heights[f] * (1.0 + 1e-6)


@numba.njit(cache=True, nogil=True)
def _count_3d(point, low, high, table, table_shape, radius, normals, heights, other_point, other_normals, other_heights, both):
    """Voxels in the box inside the shape (and, with ``both``, inside the other shape too)."""
    total = 0
    for z in range(low[0], high[0]):
        oz = z - point[0]
        qz = z - other_point[0]
        for y in range(low[1], high[1]):
            oy = y - point[1]
            qy = y - other_point[1]
            base = ((oz + radius[0]) * table_shape[1] + oy + radius[1]) * table_shape[2] + radius[2]
            other_base = ((qz + radius[0]) * table_shape[1] + qy + radius[1]) * table_shape[2] + radius[2]
            for x in range(low[2], high[2]):
                if not _inside_3d(table, base, oz, oy, x - point[2], normals, heights):
                    continue
                if both:
                    qx = x - other_point[2]
                    if abs(qz) > radius[0] or abs(qy) > radius[1] or abs(qx) > radius[2]:
                        continue
                    if not _inside_3d(table, other_base, qz, qy, qx, other_normals, other_heights):
                        continue
                total += 1
    return total


@numba.njit(cache=True, nogil=True)
def _prepare(n, points, distances, directions, faces, lows, highs, table, table_shape, radius, areas, starts, ends, counts, normals, heights):
    """Candidate ``n``'s shape in the scratch arrays (row spans in 2D, face planes in 3D) and its area, once."""
    if points.shape[1] == 2:
        _spans_2d(points[n], distances[n], directions, lows[n], highs[n], starts, ends, counts)
        if areas[n] < 0:
            areas[n] = _span_area(counts[: highs[n, 0] - lows[n, 0]], starts, ends)
    else:
        _geometry(distances[n], directions, faces, normals, heights)
        if areas[n] < 0:
            areas[n] = _count_3d(points[n], lows[n], highs[n], table, table_shape, radius, normals, heights, points[n], normals, heights, False)


@numba.njit(cache=True, nogil=True)
def _suppress(points, distances, directions, faces, table, table_shape, radius, shape, threshold, union,
              cell_size, cell_start, cell_members, cells_per_axis):
    count = points.shape[0]
    ndim = points.shape[1]
    nfaces = faces.shape[0]
    nrays = directions.shape[0]
    lows = np.empty((count, ndim), np.int64)
    highs = np.empty((count, ndim), np.int64)
    for n in range(count):
        _box(points[n], distances[n], directions, shape, lows[n], highs[n])
    suppressed = np.zeros(count, np.bool_)
    kept = np.zeros(count, np.bool_)
    areas = np.full(count, -1, np.int64)
    normals_i = np.empty((nfaces, ndim))
    heights_i = np.empty(nfaces)
    normals_j = np.empty((nfaces, ndim))
    heights_j = np.empty(nfaces)
    rows = int(shape[0]) if ndim == 2 else 1
    starts_i = np.empty((rows, nrays), np.int64)
    ends_i = np.empty((rows, nrays), np.int64)
    counts_i = np.zeros(rows, np.int64)
    starts_j = np.empty((rows, nrays), np.int64)
    ends_j = np.empty((rows, nrays), np.int64)
    counts_j = np.zeros(rows, np.int64)
    cell = np.empty(ndim, np.int64)
    for i in range(count):
        if suppressed[i]:
            continue
        kept[i] = True
        _prepare(i, points, distances, directions, faces, lows, highs, table, table_shape, radius, areas, starts_i, ends_i, counts_i,
                 normals_i, heights_i)
        if areas[i] == 0:
            continue
        for a in range(ndim):
            cell[a] = points[i, a] // cell_size
        span = 1 + (int(np.ceil(distances[i].max())) + cell_size) // cell_size
        side = 2 * span + 1
        neighbours = side ** ndim
        for q in range(neighbours):
            rest = q
            flat = 0
            multiplier = 1
            valid = True
            for a in range(ndim - 1, -1, -1):
                c = cell[a] + rest % side - span
                rest //= side
                if c < 0 or c >= cells_per_axis[a]:
                    valid = False
                    break
                flat += c * multiplier
                multiplier *= cells_per_axis[a]
            if not valid:
                continue
            for m in range(cell_start[flat], cell_start[flat + 1]):
                j = cell_members[m]
                if j <= i or suppressed[j]:
                    continue
                box_volume = 1
                for a in range(ndim):
                    box_volume *= max(0, min(highs[i, a], highs[j, a]) - max(lows[i, a], lows[j, a]))
                if box_volume == 0:
                    continue
                _prepare(j, points, distances, directions, faces, lows, highs, table, table_shape, radius, areas, starts_j, ends_j, counts_j,
                         normals_j, heights_j)
                if areas[j] == 0:
                    suppressed[j] = True
                    continue
                # the overlap can be no larger than the common box: skip pairs that cannot pass the threshold
                if union:
                    needed = threshold * (areas[i] + areas[j]) / (1.0 + threshold)
                else:
                    needed = threshold * min(areas[i], areas[j])
                if box_volume <= needed:
                    continue
                if ndim == 2:
                    row_from = max(lows[i, 0], lows[j, 0])
                    row_to = min(highs[i, 0], highs[j, 0])
                    inter = _span_intersection(lows[i], counts_i, starts_i, ends_i, lows[j], highs[j], counts_j, starts_j, ends_j,
                                               row_from, row_to)
                else:
                    low = np.maximum(lows[i], lows[j])
                    high = np.minimum(highs[i], highs[j])
                    inter = _count_3d(points[i], low, high, table, table_shape, radius, normals_i, heights_i,
                                      points[j], normals_j, heights_j, True)
                if inter > needed:
                    suppressed[j] = True
    return kept


@numba.njit(cache=True, nogil=True)
def _paint(points, distances, directions, faces, table, table_shape, radius, flat_out, shape, ids):
    """Paint shapes in the given order (later ones overwrite earlier ones)."""
    ndim = points.shape[1]
    nfaces = faces.shape[0]
    nrays = directions.shape[0]
    normals = np.empty((nfaces, ndim))
    heights = np.empty(nfaces)
    low = np.empty(ndim, np.int64)
    high = np.empty(ndim, np.int64)
    rows = int(shape[0]) if ndim == 2 else 1
    starts = np.empty((rows, nrays), np.int64)
    ends = np.empty((rows, nrays), np.int64)
    counts = np.zeros(rows, np.int64)
    for n in range(points.shape[0]):
        _box(points[n], distances[n], directions, shape, low, high)
        if ndim == 2:
            _spans_2d(points[n], distances[n], directions, low, high, starts, ends, counts)
            for row in range(high[0] - low[0]):
                for r in range(counts[row]):
                    for x in range(starts[row, r], ends[row, r]):
                        flat_out[(low[0] + row) * shape[1] + x] = ids[n]
        else:
            _geometry(distances[n], directions, faces, normals, heights)
            for z in range(low[0], high[0]):
                oz = z - points[n, 0]
                for y in range(low[1], high[1]):
                    oy = y - points[n, 1]
                    base = ((oz + radius[0]) * table_shape[1] + oy + radius[1]) * table_shape[2] + radius[2]
                    for x in range(low[2], high[2]):
                        if _inside_3d(table, base, oz, oy, x - points[n, 2], normals, heights):
                            flat_out[(z * shape[1] + y) * shape[2] + x] = ids[n]


@dataclass
class StarDistResult:
    labels: np.ndarray
    points: np.ndarray  # (n, ndim) centres of the kept candidates, label k at row k-1
    scores: np.ndarray
    distances: np.ndarray  # (n, nrays)
    candidates: int
    settings: dict


def _grid_buckets(points: np.ndarray, shape: tuple[int, ...], cell_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cells_per_axis = np.array([max(1, -(-s // cell_size)) for s in shape], dtype=np.int64)
    cells = np.ravel_multi_index(tuple((points // cell_size).T), tuple(cells_per_axis)) if len(points) else np.zeros(0, np.int64)
    order = np.argsort(cells, kind="stable")
    start = np.zeros(int(np.prod(cells_per_axis)) + 1, dtype=np.int64)
    np.add.at(start, cells + 1, 1)
    return np.cumsum(start), order.astype(np.int64), cells_per_axis


def star_nms(probability: np.ndarray, distances: np.ndarray, rays: Rays, *, prob_thresh: float = 0.4, nms_thresh: float = 0.3,
             overlap: str = "smaller") -> StarDistResult:
    """Candidates where ``probability >= prob_thresh``, greedy NMS by score, kept shapes painted.

    Parameters
    ----------
    probability : ([Z,] Y, X) object probability (the Db or F channel).
    distances : (nrays, [Z,] Y, X) ray lengths in voxels (the R channels).
    rays : the rays the distances were measured along.
    prob_thresh, nms_thresh : STARDIST.PROB_THRESH and NMS_IOU_THRESH.
    overlap : 'smaller' (intersection over the smaller shape, StarDist's measure) or 'union' (IoU).
        A candidate is dropped when its overlap with a kept, higher-scoring one exceeds ``nms_thresh``.

    Returns
    -------
    StarDistResult with labels (uint32), 1 for the highest-scoring kept shape; where kept
    shapes still overlap, the higher score wins.
    """
    if overlap not in OVERLAPS:
        raise ValueError(f"overlap must be one of {OVERLAPS}, got {overlap!r}")
    if probability.ndim != rays.ndim or distances.shape[1:] != probability.shape or distances.shape[0] != len(rays.directions):
        raise ValueError(f"R channels {distances.shape} do not fit the probability {probability.shape} and {len(rays.directions)} {rays.ndim}D rays")
    shape = probability.shape
    mask = probability >= prob_thresh
    points = np.argwhere(mask)
    scores = probability[mask].astype(np.float64)
    ray_lengths = np.moveaxis(distances, 0, -1)[mask].astype(np.float64)
    order = np.argsort(-scores, kind="stable")
    points, scores, ray_lengths = points[order].astype(np.int64), scores[order], np.ascontiguousarray(np.maximum(ray_lengths[order], 0.0))
    settings = {"decoder": "stardist", "prob_thresh": float(prob_thresh), "nms_thresh": float(nms_thresh), "overlap": overlap,
                "nrays": int(len(rays.directions))}
    labels = np.zeros(shape, dtype=np.uint32)
    if len(points) == 0:
        return StarDistResult(labels, points, scores, ray_lengths, 0, settings)
    reach = int(np.ceil(ray_lengths.max()))
    if rays.ndim == 3:
        radius = np.full(3, reach + 1, dtype=np.int64)
        table = face_table(rays, radius)
    else:  # 2D shapes are filled row by row, without the face table
        radius = np.zeros(2, dtype=np.int64)
        table = np.zeros(1, dtype=np.int32)
    table_shape = 2 * radius + 1
    cell_size = max(1, reach)
    cell_start, cell_members, cells_per_axis = _grid_buckets(points, shape, cell_size)
    kept = _suppress(points, ray_lengths, rays.directions, rays.faces, table, table_shape, radius, np.array(shape, dtype=np.int64),
                     float(nms_thresh), overlap == "union", cell_size, cell_start, cell_members, cells_per_axis)
    points, scores, ray_lengths = points[kept], scores[kept], ray_lengths[kept]
    ids = np.arange(len(points), 0, -1, dtype=np.uint32)
    reverse = slice(None, None, -1)
    _paint(points[reverse], ray_lengths[reverse], rays.directions, rays.faces, table, table_shape, radius, labels.reshape(-1),
           np.array(shape, dtype=np.int64), ids)
    return StarDistResult(labels, points, scores, ray_lengths, int(mask.sum()), settings)
