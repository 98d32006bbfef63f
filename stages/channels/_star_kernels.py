"""Compiled ray marching for the R channel (as StarDist's c_star_dist, with its half-voxel
correction in 3D too).

StarDist steps along a ray by adding the direction to a float position and rounding
it at every step. That position is the same for every voxel (it starts at 0), so the
rounded steps and the distance at each step are computed once per ray, and every
voxel of an instance takes the same steps. Each instance has a bit image (1 where the
instance is, its box and a margin of 0s around it) and is marched 64 bits of that image
at a time: a step moves every lane by the same number of bits, one funnel shift reads
the 64 bits there, and the lanes still inside are counted by a 5-bit vertical counter.
The march is integer work with no branch per voxel, and gives StarDist's lengths to the
bit. A ray whose position comes within 1e-9 of a half-voxel tie (where rounding i + y
differs from i + rounding y) is marched in floats, voxel by voxel, as StarDist does.

The lengths are first written, instance after instance, into a dense buffer of the
foreground voxels (one row per ray), then copied plane by plane into the output with
the zeros between them: every output byte is written once, in order.
"""

import numba
import numpy as np

from .._bits import lowest_set, next_run

_TIE = 1e-9


@numba.njit(cache=True, nogil=True)
def _ray_tables(direction, shape):
    """Rounded offsets (3, steps + 1) of each step, distance at each step, and whether the ray meets
    a tie.

    ``distances[k]`` is the length StarDist assigns when step k is the first outside the
    instance (the position stepped back to half a voxel past the last inside one).
    """
    largest = max(abs(direction[0]), max(abs(direction[1]), abs(direction[2])))
    longest = max(shape[0], max(shape[1], shape[2]))
    steps = int(np.ceil(longest / largest)) + 2
    offsets = np.zeros((3, steps + 1), np.int64)
    distances = np.zeros(steps + 1, np.float32)
    position = np.zeros(3)
    correction = 0.5 / largest - 1.0
    tied = False
    for k in range(1, steps + 1):
        squared = 0.0
        for axis in range(3):
            position[axis] += direction[axis]
            offsets[axis, k] = int(np.rint(position[axis]))
            if abs(abs(position[axis] - np.floor(position[axis])) - 0.5) < _TIE:
                tied = True
            corrected = position[axis] + correction * direction[axis]
            squared += corrected * corrected
        distances[k] = np.sqrt(squared)
    return offsets, distances, tied


@numba.njit(cache=True, nogil=True)
def _float_march(labels, h, i, j, dz, dy, dx):
    depth, height, width = labels.shape
    value = labels[h, i, j]
    z = 0.0
    y = 0.0
    x = 0.0
    while True:
        z += dz
        y += dy
        x += dx
        hh = int(np.rint(h + z))
        ii = int(np.rint(i + y))
        jj = int(np.rint(j + x))
        if (
            hh < 0
            or hh >= depth
            or ii < 0
            or ii >= height
            or jj < 0
            or jj >= width
            or labels[hh, ii, jj] != value
        ):
            # the last step overshot the boundary: step back to half a voxel past the last inside
            # one
            correction = 0.5 / max(abs(dz), max(abs(dy), abs(dx))) - 1.0
            z += correction * dz
            y += correction * dy
            x += correction * dx
            return np.sqrt(z * z + y * y + x * x)


_ONE = np.uint64(1)


@numba.njit(cache=True, nogil=True)
def row_runs(labels):
    """(n, 4) plane, row, first and last + 1 column of every run of one nonzero label along X."""
    depth, height, width = labels.shape
    count = 0
    for h in range(depth):
        for i in range(height):
            previous = 0
            for j in range(width):
                value = labels[h, i, j]
                if value != 0 and value != previous:
                    count += 1
                previous = value
    runs = np.empty((count, 4), np.int64)
    n = 0
    for h in range(depth):
        for i in range(height):
            j = 0
            while j < width:
                value = labels[h, i, j]
                if value == 0:
                    j += 1
                    continue
                runs[n, 0] = h
                runs[n, 1] = i
                runs[n, 2] = j
                while j < width and labels[h, i, j] == value:
                    j += 1
                runs[n, 3] = j
                n += 1
    return runs


@numba.njit(cache=True, nogil=True)
def _popcount(x):
    x = x - ((x >> _ONE) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@numba.njit(cache=True, nogil=True)
def instance_images(labels, runs, count, margin_z):
    """One bit image per label id (1 on the id's voxels) in a pool of words, where each voxel's
    value goes, and the geometry.

    Built from the row ``runs`` (no pass over the background). An image covers the id's
    bounding box grown by ``margin_z`` planes and one row and column on each side (all 0
    there, so a voxel one step from the instance falls in it), row-major, from a word
    boundary. The foreground voxels are numbered instance by instance, in raster order
    within each: ``word_rank[w]`` is the number of the first voxel at or after word w of
    its image, ``run_rank[r]`` that of run r's first voxel. ``geometry[id]`` = first bit
    of the image, planes, rows, columns, and the (Z, Y, X) voxel of its corner.
    """
    boxes = np.empty((count, 6), np.int64)
    boxes[:, 0::2] = np.iinfo(np.int64).max
    boxes[:, 1::2] = -1
    sizes = np.zeros(count + 1, np.int64)
    for r in range(runs.shape[0]):
        h, i, start, stop = runs[r, 0], runs[r, 1], runs[r, 2], runs[r, 3]
        value = labels[h, i, start]
        box = boxes[value]
        box[0] = min(box[0], h)
        box[1] = max(box[1], h)
        box[2] = min(box[2], i)
        box[3] = max(box[3], i)
        box[4] = min(box[4], start)
        box[5] = max(box[5], stop - 1)
        sizes[value + 1] += stop - start
    for value in range(count):
        sizes[value + 1] += sizes[value]  # now the number of each id's first voxel
    geometry = np.zeros((count, 7), np.int64)
    words = 1  # one word before the first image: a march's dead lanes may read a little before it
    for value in range(1, count):
        box = boxes[value]
        if box[1] < 0:
            continue
        planes = box[1] - box[0] + 1 + 2 * margin_z
        rows = box[3] - box[2] + 3
        columns = box[5] - box[4] + 3
        geometry[value, 0] = words * 64
        geometry[value, 1] = planes
        geometry[value, 2] = rows
        geometry[value, 3] = columns
        geometry[value, 4] = box[0] - margin_z
        geometry[value, 5] = box[2] - 1
        geometry[value, 6] = box[4] - 1
        words += (planes * rows * columns + 63) // 64
    pool = np.zeros(
        words + 2, np.uint64
    )  # and two after the last: the funnel shift reads one word ahead
    run_rank = np.empty(runs.shape[0], np.int64)
    next_rank = sizes[:count].copy()
    for r in range(runs.shape[0]):
        h, i, start, stop = runs[r, 0], runs[r, 1], runs[r, 2], runs[r, 3]
        value = labels[h, i, start]
        g = geometry[value]
        row_bit = g[0] + ((h - g[4]) * g[2] + i - g[5]) * g[3] - g[6]
        for bit in range(row_bit + start, row_bit + stop):
            pool[bit >> 6] |= _ONE << np.uint64(bit & 63)
        # runs come in raster order, which is each image's bit order
        run_rank[r] = next_rank[value]
        next_rank[value] += stop - start
    word_rank = np.zeros(pool.size, np.int64)
    for value in range(1, count):
        g = geometry[value]
        rank = sizes[value]
        for w in range(g[0] >> 6, (g[0] + g[1] * g[2] * g[3] + 63) >> 6):
            word_rank[w] = rank
            rank += np.int64(_popcount(pool[w]))
    return pool, geometry, word_rank, run_rank


@numba.njit(cache=True, nogil=True)
def _ray_steps(directions, shape):
    """Per ray: the change of the rounded offset at each step as a code (dz+1)*9 + (dy+1)*3 + dx+1,
    StarDist's length when each step is the first outside, and whether the ray meets a tie."""
    nrays = directions.shape[0]
    tables = [_ray_tables(directions[k], shape) for k in range(nrays)]
    longest = 0
    for k in range(nrays):
        longest = max(longest, tables[k][1].size)
    codes = np.full((nrays, longest), 13, np.uint8)
    lengths = np.zeros((nrays, longest), np.float32)
    tied = np.zeros(nrays, np.bool_)
    for k in range(nrays):
        offsets, distances, tie = tables[k]
        tied[k] = tie
        for s in range(1, distances.size):
            codes[k, s] = (
                (offsets[0, s] - offsets[0, s - 1] + 1) * 9
                + (offsets[1, s] - offsets[1, s - 1] + 1) * 3
                + offsets[2, s]
                - offsets[2, s - 1]
                + 1
            )
            lengths[k, s] = distances[s]
    return codes, lengths, tied


@numba.njit(cache=True, nogil=True, inline="always")
def _eight_counts(c0, c1, c2, c3, c4, spread, group):
    """The 5-bit counts of lanes group..group+7, held bit-sliced in c0..c4, one per byte."""
    shift = np.uint64(group)
    return (
        spread[(c0 >> shift) & np.uint64(255)]
        | (spread[(c1 >> shift) & np.uint64(255)] << _ONE)
        | (spread[(c2 >> shift) & np.uint64(255)] << np.uint64(2))
        | (spread[(c3 >> shift) & np.uint64(255)] << np.uint64(3))
        | (spread[(c4 >> shift) & np.uint64(255)] << np.uint64(4))
    )


@numba.njit(cache=True, nogil=True, inline="always")
def _add_counts(c0, c1, c2, c3, c4, spread, wide):
    """Add the 5-bit counts held bit-sliced in c0..c4 to ``wide`` (64 lanes)."""
    for group in range(0, 64, 8):
        counts = _eight_counts(c0, c1, c2, c3, c4, spread, group)
        for lane in range(8):
            wide[group + lane] += np.int64((counts >> np.uint64(8 * lane)) & np.uint64(255))


@numba.njit(cache=True, nogil=True)
def _march_instance(
    value, k, pool, geometry, word_rank, codes, lengths, dense, reach, wide, spread
):
    """Ray ``k``'s lengths for every voxel of instance ``value`` into ``dense`` (its voxels'
    numbers), 64 image bits at a time."""
    g = geometry[value]
    rows = g[2]
    columns = g[3]
    first = g[0]
    # the bits one step moves by, per step code (dz+1)*9 + (dy+1)*3 + dx+1
    delta = np.empty(27, np.int64)
    for code in range(27):
        delta[code] = (
            (code // 9 - 1) * rows * columns + ((code // 3) % 3 - 1) * columns + code % 3 - 1
        )
    filled = 1
    for w in range(first >> 6, (first + g[1] * rows * columns + 63) >> 6):
        start = pool[w]
        if start == 0:
            continue
        alive = start
        c0 = c1 = c2 = c3 = c4 = np.uint64(0)
        s = 0
        since_flush = 0
        spilled = False
        while alive:
            s += 1
            if s == filled:
                # the bits moved after s steps, the same for every word of the image: computed once
                reach[s] = reach[s - 1] + delta[codes[k, s]]
                filled += 1
            # one more step for every lane still inside: a 5-bit counter, bit-sliced
            carry = alive
            t = c0 & carry
            c0 ^= carry
            carry = t
            t = c1 & carry
            c1 ^= carry
            carry = t
            t = c2 & carry
            c2 ^= carry
            carry = t
            t = c3 & carry
            c3 ^= carry
            c4 ^= t
            bit = w * 64 + reach[s]
            word = np.uint64(bit) >> np.uint64(6)
            shift = np.uint64(bit) & np.uint64(63)
            alive &= (pool[word] >> shift) | (
                (pool[word + _ONE] << _ONE) << (np.uint64(63) - shift)
            )
            since_flush += 1
            if since_flush == 31:
                # the counter is full: move it to the lanes' wide counts
                since_flush = 0
                spilled = True
                _add_counts(c0, c1, c2, c3, c4, spread, wide)
                c0 = c1 = c2 = c3 = c4 = np.uint64(0)
        # the word's voxels are consecutive in the dense numbering
        at = word_rank[w]
        if spilled:
            _add_counts(c0, c1, c2, c3, c4, spread, wide)
            lanes = start
            while lanes:
                lane = lowest_set(lanes)
                dense[at] = lengths[k, wide[lane]]
                at += 1
                lanes &= lanes - _ONE
            wide[:] = 0
            continue
        # the counts of the runs of set lanes only (a row of the instance each), eight lanes per
        # lookup
        lanes = start
        while lanes:
            run_first, stop, lanes = next_run(lanes)
            for group in range(run_first, stop, 8):
                counts = _eight_counts(c0, c1, c2, c3, c4, spread, group)
                for lane in range(min(8, stop - group)):
                    dense[at + lane] = lengths[k, (counts >> np.uint64(8 * lane)) & np.uint64(255)]
                at += min(8, stop - group)


@numba.njit(cache=True, nogil=True, parallel=True)
def star_distances(labels, directions, count, out, dense, blocks):
    """StarDist's ray lengths of a (Z, Y, X) label volume into the zeroed ``out`` (nrays, Z, Y, X).

    ``count`` is the largest label id + 1; a 2D image is one plane with dz = 0. ``dense``
    (chunk, foreground voxels) float32 holds ``chunk`` rays' lengths at a time. The ids
    are cut into ``blocks`` that numba's threads share (each id writes only its own voxels);
    the output planes are copied from ``dense`` on the threads too.
    """
    depth, height, width = labels.shape
    nrays = directions.shape[0]
    codes, lengths, tied = _ray_steps(directions, np.array([depth, height, width], np.int64))
    runs = row_runs(labels)
    margin_z = 0
    for k in range(nrays):
        if directions[k, 0] != 0.0:
            margin_z = 1
    pool, geometry, word_rank, run_rank = instance_images(labels, runs, count, margin_z)
    # byte t of spread[x] is bit t of x: eight lanes of a counter slice side by side
    spread = np.zeros(256, np.uint64)
    for x in range(256):
        for t in range(8):
            spread[x] |= ((np.uint64(x) >> np.uint64(t)) & _ONE) << np.uint64(8 * t)
    # the runs of each id, for the rays that meet a tie (marched in floats, voxel by voxel)
    run_order = np.arange(0)
    run_start = np.zeros(count + 1, np.int64)
    if tied.any():
        run_order = np.argsort(
            labels.ravel()[(runs[:, 0] * height + runs[:, 1]) * width + runs[:, 2]],
            kind="mergesort",
        )
        for r in range(runs.shape[0]):
            run_start[labels[runs[r, 0], runs[r, 1], runs[r, 2]] + 1] += 1
        for value in range(count):
            run_start[value + 1] += run_start[value]
    flat_out = out.reshape((nrays, -1))
    chunk = dense.shape[0]
    blocks = max(1, min(count - 1, blocks))
    for first_ray in range(0, nrays, chunk):
        rays_here = min(chunk, nrays - first_ray)
        for block in numba.prange(blocks):
            reach = np.zeros(codes.shape[1], np.int64)
            wide = np.zeros(64, np.int64)
            for value in range(
                1 + block * (count - 1) // blocks, 1 + (block + 1) * (count - 1) // blocks
            ):
                if geometry[value, 1] == 0:
                    continue
                for c in range(rays_here):
                    k = first_ray + c
                    if not tied[k]:
                        _march_instance(
                            value,
                            k,
                            pool,
                            geometry,
                            word_rank,
                            codes,
                            lengths,
                            dense[c],
                            reach,
                            wide,
                            spread,
                        )
                        continue
                    for m in range(run_start[value], run_start[value + 1]):
                        r = run_order[m]
                        h = runs[r, 0]
                        i = runs[r, 1]
                        for j in range(runs[r, 2], runs[r, 3]):
                            dense[c, run_rank[r] + j - runs[r, 2]] = _float_march(
                                labels,
                                h,
                                i,
                                j,
                                directions[k, 0],
                                directions[k, 1],
                                directions[k, 2],
                            )
        for c in numba.prange(rays_here):
            # into zeroed pages, in raster order: only the foreground is written
            plane = flat_out[first_ray + c]
            for r in range(runs.shape[0]):
                at = (runs[r, 0] * height + runs[r, 1]) * width + runs[r, 2]
                length = runs[r, 3] - runs[r, 2]
                plane[at : at + length] = dense[c, run_rank[r] : run_rank[r] + length]
    return out
