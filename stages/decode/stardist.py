"""StarDist decoding: star-convex polygon (2D) / polyhedron (3D) candidates, NMS, painting.

Shapes are compared as the voxel sets they paint: a voxel belongs to a candidate when
its centre lies inside the star-convex shape spanned by the candidate's rays. The
overlap of two candidates is therefore exact on the grid and covers both whole shapes
(BiaPy only counts voxels inside the intersection of the two bounding boxes).

2D polygons are filled row by row (even-odd rule on pixel centres, as skimage.draw.polygon).
3D inside test: the direction from the centre picks one triangle of 3 rays from a table
that depends only on the integer offset; the voxel is inside when it lies on the centre's
side of the plane through that triangle's vertices.

Every candidate is rasterised once, as runs of voxels along X row by row of its box (on
numba's threads); overlaps are counted by merging two candidates' runs, and the kept
shapes are painted from their runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from .._bits import next_run
from ..channels.rays import Rays
from ..threads import kernel_threads

_ONE = np.uint64(1)
OVERLAPS = ("smaller", "union")


@numba.njit(cache=True, nogil=True, inline="always")
def _lowest_weight(inverses, f, offsets, n):
    """The smallest barycentric weight of offset ``n``'s direction in the cone of face ``f`` (>= 0
    inside it)."""
    ndim = offsets.shape[1]
    lowest = np.inf
    for a in range(ndim):
        weight = 0.0
        for b in range(ndim):
            weight += inverses[f, a, b] * offsets[n, b]
        lowest = min(lowest, weight)
    return lowest


@numba.njit(cache=True, nogil=True)
def _assign_faces(offsets, inverses):
    """For each offset the first face whose cone holds its direction (within 1e-9), else the nearest
    cone."""
    count = offsets.shape[0]
    ndim = offsets.shape[1]
    nfaces = inverses.shape[0]
    out = np.zeros(count, np.int32)
    previous = -1
    for n in range(count):
        if previous >= 0:
            # neighbouring offsets mostly share a face: one well inside the previous cone can be
            # in no other (cones meet only at their edges), so the search below would find it too
            size = 0.0
            for b in range(ndim):
                size += abs(offsets[n, b])
            if _lowest_weight(inverses, previous, offsets, n) > 1e-6 * size:
                out[n] = previous
                continue
        best = 0
        best_score = -np.inf
        for f in range(nfaces):
            lowest = _lowest_weight(inverses, f, offsets, n)
            if lowest >= -1e-9:
                best = f
                break
            if lowest > best_score:
                best_score = lowest
                best = f
        out[n] = best
        previous = best
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


@numba.njit(cache=True, nogil=True)
def _boxes(points, distances, directions, shape):
    count = points.shape[0]
    ndim = points.shape[1]
    lows = np.empty((count, ndim), np.int64)
    highs = np.empty((count, ndim), np.int64)
    for n in range(count):
        _box(points[n], distances[n], directions, shape, lows[n], highs[n])
    return lows, highs


# ------------------------------------------------------------------ every candidate's voxels, once,
# as runs
@numba.njit(cache=True, nogil=True)
def _polygon_crossings(point, distances, directions, low, high, crossings, found):
    """Where the polygon's edges cross each row of the box (``found[row]`` of them, unsorted).

    An edge crosses the rows ``y`` with ``ya <= y < yb`` (or the reverse), so each edge
    visits only its own rows: about two crossings per row in all, where testing every
    edge against every row costs ``nrays`` tests per row.
    """
    nrays = directions.shape[0]
    found[: high[0] - low[0]] = 0
    for k in range(nrays):
        m = (k + 1) % nrays
        ya = point[0] + distances[k] * directions[k, 0]
        xa = point[1] + distances[k] * directions[k, 1]
        yb = point[0] + distances[m] * directions[m, 0]
        xb = point[1] + distances[m] * directions[m, 1]
        # a row more on either side: the exact test below decides, as for every row before
        first = max(low[0], int(np.floor(min(ya, yb))))
        last = min(high[0], int(np.ceil(max(ya, yb))) + 1)
        for yi in range(first, last):
            y = float(yi)
            if (ya <= y < yb) or (yb <= y < ya):
                row = yi - low[0]
                crossings[row, found[row]] = xa + (y - ya) * (xb - xa) / (yb - ya)
                found[row] += 1


@numba.njit(cache=True, nogil=True)
def _append_run(runs, used, limit, first, stop):
    """Store run [first, stop) at ``used``; -1 when the room up to ``limit`` is full."""
    if used >= limit:
        return -1
    runs[used, 0] = first
    runs[used, 1] = stop
    return used + 1


@numba.njit(cache=True, nogil=True)
def _rasterise(
    first_candidate,
    last_candidate,
    points,
    distances,
    directions,
    faces,
    lows,
    highs,
    table,
    table_shape,
    radius,
    row_base,
    row_ptr,
    runs,
    used,
    limit,
    areas,
):
    """Runs of candidates first..last-1 into ``runs[used:limit]``; the next free index, or -1 when
    it ran out of room.

    A 2D polygon is filled by the even-odd rule on pixel centres (as skimage.draw.polygon);
    a 3D voxel is inside when it passes its face's plane test (64 voxels of a row at a
    time, as bits, then the runs of set bits).
    """
    ndim = points.shape[1]
    nrays = directions.shape[0]
    tallest = 1
    for n in range(first_candidate, last_candidate):
        tallest = max(tallest, highs[n, 0] - lows[n, 0])
    crossings = np.empty((tallest if ndim == 2 else 1, nrays))
    found = np.zeros(tallest, np.int64)
    normals = np.empty((faces.shape[0], ndim))
    heights = np.empty(faces.shape[0])
    limits = np.empty(faces.shape[0])
    for n in range(first_candidate, last_candidate):
        g = row_base[n]
        low = lows[n]
        high = highs[n]
        area = 0
        if ndim == 2:
            _polygon_crossings(points[n], distances[n], directions, low, high, crossings, found)
            for row in range(high[0] - low[0]):
                row_ptr[g + row] = used
                line = crossings[row]
                k = found[row]
                for a in range(
                    1, k
                ):  # insertion sort: a row has two crossings but for rare concave rows
                    value = line[a]
                    b = a - 1
                    while b >= 0 and line[b] > value:
                        line[b + 1] = line[b]
                        b -= 1
                    line[b + 1] = value
                for c in range(0, k - 1, 2):
                    first = max(low[1], int(np.ceil(line[c] - 1e-9)))
                    last = min(high[1] - 1, int(np.floor(line[c + 1] + 1e-9)))
                    if last >= first:
                        used = _append_run(runs, used, limit, first, last + 1)
                        if used < 0:
                            return -1
                        area += last + 1 - first
        else:
            _geometry(distances[n], directions, faces, normals, heights)
            for f in range(faces.shape[0]):
                # the inside test of a voxel is one comparison against its face's plane
                limits[f] = heights[f] * (1.0 + 1e-6) if heights[f] > 1e-12 else -np.inf
            for z in range(low[0], high[0]):
                oz = z - points[n, 0]
                for y in range(low[1], high[1]):
                    row_ptr[g] = used
                    g += 1
                    oy = y - points[n, 1]
                    base = (
                        ((oz + radius[0]) * table_shape[1] + oy + radius[1]) * table_shape[2]
                        + radius[2]
                        - points[n, 2]
                    )
                    first_run = used
                    for chunk in range(low[2], high[2], 64):
                        bits = np.uint64(0)
                        for x in range(chunk, min(chunk + 64, high[2])):
                            f = table[base + x]
                            inside = (
                                normals[f, 0] * oz
                                + normals[f, 1] * oy
                                + normals[f, 2] * (x - points[n, 2])
                                <= limits[f]
                            )
                            bits |= np.uint64(inside) << np.uint64(x - chunk)
                        if oz == 0 and oy == 0 and chunk <= points[n, 2] < chunk + 64:
                            bits |= _ONE << np.uint64(
                                points[n, 2] - chunk
                            )  # the centre is always inside
                        while bits:
                            start, stop, bits = next_run(bits)
                            if used > first_run and runs[used - 1, 1] == chunk + start:
                                runs[used - 1, 1] = chunk + stop  # a run across two chunks
                            else:
                                used = _append_run(runs, used, limit, chunk + start, chunk + stop)
                                if used < 0:
                                    return -1
                            area += stop - start
        areas[n] = area
    return used


@numba.njit(cache=True, nogil=True, parallel=True)
def _candidate_runs(
    points,
    distances,
    directions,
    faces,
    lows,
    highs,
    table,
    table_shape,
    radius,
    row_base,
    row_ptr,
    blocks,
):
    """Every candidate's pixels (voxels) as runs along X, row by row of its box, and its area.

    Each shape is rasterised once (in ``blocks`` of candidates shared by numba's threads),
    and overlaps are then counted by merging runs. ``row_base`` (count + 1): candidate n's
    rows are row_base[n] .. row_base[n + 1] - 1, in C order over its box (Y; or Z then Y);
    ``row_ptr`` (rows + 1) is filled: the runs of row g are runs[row_ptr[g]:row_ptr[g + 1]].

    Returns
    -------
    runs : (n, 2) int32 first and last + 1 column of each run.
    areas : (count,) voxels of each shape.
    """
    count = points.shape[0]
    rows = row_base[count]
    areas = np.zeros(count, np.int64)
    blocks = max(1, min(blocks, count))
    # each block gets room for 1.25 runs per row of its boxes (a row of a 2D polygon holds
    # one run but for concave rows, a 3D box's corner rows none); a block that needs more
    # makes the whole pass serial
    starts = np.empty(blocks + 1, np.int64)
    firsts = np.empty(blocks + 1, np.int64)
    for b in range(blocks + 1):
        firsts[b] = b * count // blocks
        starts[b] = row_base[firsts[b]] + row_base[firsts[b]] // 4 + 64 * b
    runs = np.empty((starts[blocks], 2), np.int32)
    ends = np.empty(blocks, np.int64)
    for b in numba.prange(blocks):
        ends[b] = _rasterise(
            firsts[b],
            firsts[b + 1],
            points,
            distances,
            directions,
            faces,
            lows,
            highs,
            table,
            table_shape,
            radius,
            row_base,
            row_ptr,
            runs,
            starts[b],
            starts[b + 1],
            areas,
        )
    if ends.min() < 0:
        room = 2 * runs.shape[0]
        while True:
            runs = np.empty((room, 2), np.int32)
            end = _rasterise(
                0,
                count,
                points,
                distances,
                directions,
                faces,
                lows,
                highs,
                table,
                table_shape,
                radius,
                row_base,
                row_ptr,
                runs,
                0,
                room,
                areas,
            )
            if end >= 0:
                row_ptr[rows] = end
                return runs[:end], areas
            room *= 2
    # close the gaps between the blocks' runs (each block moves left: no overlap with what is
    # unread)
    used = 0
    for b in range(blocks):
        shift = starts[b] - used
        count_b = ends[b] - starts[b]
        if shift:
            for r in range(count_b):
                runs[used + r, 0] = runs[starts[b] + r, 0]
                runs[used + r, 1] = runs[starts[b] + r, 1]
            for g in range(row_base[firsts[b]], row_base[firsts[b + 1]]):
                row_ptr[g] -= shift
        used += count_b
    row_ptr[rows] = used
    return runs[:used], areas


@numba.njit(cache=True, nogil=True, inline="always")
def _common_in_rows(row_ptr, runs, a, b):
    """Columns shared by the runs of rows ``a`` and ``b`` (both sorted, disjoint)."""
    p = row_ptr[a]
    p_end = row_ptr[a + 1]
    q = row_ptr[b]
    q_end = row_ptr[b + 1]
    total = 0
    while p < p_end and q < q_end:
        first = max(runs[p, 0], runs[q, 0])
        last = min(runs[p, 1], runs[q, 1])
        if last > first:
            total += last - first
        if runs[p, 1] < runs[q, 1]:
            p += 1
        else:
            q += 1
    return total


@numba.njit(cache=True, nogil=True)
def _overlap_exceeds(i, j, needed, lows, highs, row_base, row_ptr, runs):
    """Whether more than ``needed`` voxels lie inside both shape ``i`` and shape ``j`` (counted row
    by row, until they do)."""
    total = 0
    if lows.shape[1] == 2:
        for y in range(max(lows[i, 0], lows[j, 0]), min(highs[i, 0], highs[j, 0])):
            total += _common_in_rows(
                row_ptr, runs, row_base[i] + y - lows[i, 0], row_base[j] + y - lows[j, 0]
            )
            if total > needed:
                return True
        return False
    height_i = highs[i, 1] - lows[i, 1]
    height_j = highs[j, 1] - lows[j, 1]
    for z in range(max(lows[i, 0], lows[j, 0]), min(highs[i, 0], highs[j, 0])):
        plane_i = row_base[i] + (z - lows[i, 0]) * height_i - lows[i, 1]
        plane_j = row_base[j] + (z - lows[j, 0]) * height_j - lows[j, 1]
        for y in range(max(lows[i, 1], lows[j, 1]), min(highs[i, 1], highs[j, 1])):
            total += _common_in_rows(row_ptr, runs, plane_i + y, plane_j + y)
        if total > needed:
            return True
    return False


@numba.njit(cache=True, nogil=True)
def _suppress(
    points,
    distances,
    lows,
    highs,
    areas,
    row_base,
    row_ptr,
    runs,
    threshold,
    union,
    cell_size,
    cell_start,
    cell_members,
    cells_per_axis,
):
    count = points.shape[0]
    ndim = points.shape[1]
    suppressed = np.zeros(count, np.bool_)
    kept = np.zeros(count, np.bool_)
    cell = np.empty(ndim, np.int64)
    for i in range(count):
        if suppressed[i]:
            continue
        kept[i] = True
        if areas[i] == 0:
            continue
        for a in range(ndim):
            cell[a] = points[i, a] // cell_size
        span = 1 + (int(np.ceil(distances[i].max())) + cell_size) // cell_size
        side = 2 * span + 1
        neighbours = side**ndim
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
                    box_volume *= max(
                        0, min(highs[i, a], highs[j, a]) - max(lows[i, a], lows[j, a])
                    )
                if box_volume == 0:
                    continue
                if areas[j] == 0:
                    suppressed[j] = True
                    continue
                # the overlap can be no larger than the common box: skip pairs that cannot pass the
                # threshold
                if union:
                    needed = threshold * (areas[i] + areas[j]) / (1.0 + threshold)
                else:
                    needed = threshold * min(areas[i], areas[j])
                if box_volume <= needed:
                    continue
                if _overlap_exceeds(i, j, needed, lows, highs, row_base, row_ptr, runs):
                    suppressed[j] = True
    return kept


@numba.njit(cache=True, nogil=True)
def _paint(order, ids, lows, highs, row_base, row_ptr, runs, flat_out, shape):
    """Paint the shapes ``order`` with ``ids`` in that order (later ones overwrite earlier ones)."""
    ndim = lows.shape[1]
    width = shape[ndim - 1]
    for o in range(order.shape[0]):
        n = order[o]
        g = row_base[n]
        if ndim == 2:
            for y in range(lows[n, 0], highs[n, 0]):
                for r in range(row_ptr[g], row_ptr[g + 1]):
                    flat_out[y * width + runs[r, 0] : y * width + runs[r, 1]] = ids[o]
                g += 1
        else:
            for z in range(lows[n, 0], highs[n, 0]):
                for y in range(lows[n, 1], highs[n, 1]):
                    row = (z * shape[1] + y) * width
                    for r in range(row_ptr[g], row_ptr[g + 1]):
                        flat_out[row + runs[r, 0] : row + runs[r, 1]] = ids[o]
                    g += 1


@dataclass
class StarDistResult:
    labels: np.ndarray
    points: np.ndarray  # (n, ndim) centres of the kept candidates, label k at row k-1
    scores: np.ndarray
    distances: np.ndarray  # (n, nrays)
    candidates: int
    settings: dict


@numba.njit(cache=True, nogil=True)
def _gather_rays(distances, candidates):
    """(n, nrays) float32 ray lengths of the ``candidates`` (flat voxel indices), negative ones as
    0.

    ``distances`` is (nrays, voxels); a NaN or infinite length raises ValueError.
    """
    nrays = distances.shape[0]
    out = np.empty((candidates.size, nrays), np.float32)
    for n in range(candidates.size):
        for k in range(nrays):
            value = distances[k, candidates[n]]
            if not np.isfinite(value):
                raise ValueError("R channels hold NaN or infinite ray lengths")
            out[n, k] = max(value, 0.0)
    return out


def _grid_buckets(
    points: np.ndarray, shape: tuple[int, ...], cell_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cells_per_axis = np.array([max(1, -(-s // cell_size)) for s in shape], dtype=np.int64)
    cells = (
        np.ravel_multi_index(tuple((points // cell_size).T), tuple(cells_per_axis))
        if len(points)
        else np.zeros(0, np.int64)
    )
    order = np.argsort(cells, kind="stable")
    start = np.zeros(int(np.prod(cells_per_axis)) + 1, dtype=np.int64)
    np.add.at(start, cells + 1, 1)
    return np.cumsum(start), order.astype(np.int64), cells_per_axis


def star_nms(
    probability: np.ndarray,
    distances: np.ndarray,
    rays: Rays,
    *,
    prob_thresh: float = 0.4,
    nms_thresh: float = 0.3,
    overlap: str = "smaller",
) -> StarDistResult:
    """Candidates where ``probability >= prob_thresh``, greedy NMS by score, kept shapes painted.

    Parameters
    ----------
    probability : ([Z,] Y, X) object probability (the Db or F channel).
    distances : (nrays, [Z,] Y, X) ray lengths in voxels (the R channels).
    rays : the rays the distances were measured along.
    prob_thresh, nms_thresh : STARDIST.PROB_THRESH and NMS_IOU_THRESH.
    overlap : 'smaller' (intersection over the smaller shape, StarDist's measure) or 'union' (IoU).
        A candidate is dropped when its overlap with a kept, higher-scoring one exceeds
        ``nms_thresh``.

    Returns
    -------
    StarDistResult with labels (uint32), 1 for the highest-scoring kept shape; where kept
    shapes still overlap, the higher score wins.

    Raises
    ------
    ValueError
        for an unknown ``overlap``, channels that do not fit the rays, or a candidate with a
        NaN or infinite ray length.
    """
    if overlap not in OVERLAPS:
        raise ValueError(f"overlap must be one of {OVERLAPS}, got {overlap!r}")
    if (
        probability.ndim != rays.ndim
        or distances.shape[1:] != probability.shape
        or distances.shape[0] != len(rays.directions)
    ):
        raise ValueError(
            f"R channels {distances.shape} do not fit the probability {probability.shape} and "
            f"{len(rays.directions)} {rays.ndim}D rays"
        )
    if not distances.dtype.isnative:
        # the compiled gather reads native byte order only (a big-endian array from a reader)
        distances = distances.astype(distances.dtype.newbyteorder("="))
    shape = probability.shape
    flat_probability = probability.ravel()
    candidates = np.flatnonzero(flat_probability >= prob_thresh)
    scores = flat_probability[candidates].astype(np.float64)
    order = np.argsort(-scores, kind="stable")  # raster order among equal scores
    candidates, scores = candidates[order], scores[order]
    points = np.stack(np.unravel_index(candidates, shape), axis=1).astype(np.int64)
    # the candidates' rays gathered in score order, one row each, float32 (the kernels compute in
    # float64 from these exact values)
    ray_lengths = _gather_rays(distances.reshape(distances.shape[0], -1), candidates)
    settings = {
        "decoder": "stardist",
        "prob_thresh": float(prob_thresh),
        "nms_thresh": float(nms_thresh),
        "overlap": overlap,
        "nrays": int(len(rays.directions)),
    }
    labels = np.zeros(shape, dtype=np.uint32)
    if len(points) == 0:
        return StarDistResult(labels, points, scores, ray_lengths.astype(np.float64), 0, settings)
    reach = int(np.ceil(ray_lengths.max()))
    if rays.ndim == 3:
        radius = np.full(3, reach + 1, dtype=np.int64)
        table = face_table(rays, radius)
    else:  # 2D shapes are filled row by row, without the face table
        radius = np.zeros(2, dtype=np.int64)
        table = np.zeros(1, dtype=np.int32)
    table_shape = 2 * radius + 1
    lows, highs = _boxes(points, ray_lengths, rays.directions, np.array(shape, dtype=np.int64))
    extents = highs - lows
    row_base = np.concatenate(
        [[0], np.cumsum(extents[:, 0] * (extents[:, 1] if rays.ndim == 3 else 1))]
    ).astype(np.int64)
    blocks = 8 * kernel_threads()
    # int32 row pointers unless the runs could number 2**31 (half the memory of the largest array)
    small = row_base[-1] * 1.25 + 64 * (blocks + 1) < 2**31
    row_ptr = np.zeros(int(row_base[-1]) + 1, np.int32 if small else np.int64)
    runs, areas = _candidate_runs(
        points,
        ray_lengths,
        rays.directions,
        rays.faces,
        lows,
        highs,
        table,
        table_shape,
        radius,
        row_base,
        row_ptr,
        blocks,
    )
    cell_size = max(1, reach)
    cell_start, cell_members, cells_per_axis = _grid_buckets(points, shape, cell_size)
    kept = _suppress(
        points,
        ray_lengths,
        lows,
        highs,
        areas,
        row_base,
        row_ptr,
        runs,
        float(nms_thresh),
        overlap == "union",
        cell_size,
        cell_start,
        cell_members,
        cells_per_axis,
    )
    # lowest score first, so that where kept shapes overlap the higher score is painted last
    order = np.flatnonzero(kept)[::-1].astype(np.int64)
    _paint(
        order,
        np.arange(len(order), 0, -1, dtype=np.uint32),
        lows,
        highs,
        row_base,
        row_ptr,
        runs,
        labels.reshape(-1),
        np.array(shape, dtype=np.int64),
    )
    return StarDistResult(
        labels,
        points[kept],
        scores[kept],
        ray_lengths[kept].astype(np.float64),
        len(candidates),
        settings,
    )
