"""Compiled ray marching for the R channel (as StarDist's c_star_dist, with its half-voxel correction in 3D too).

StarDist steps along a ray by adding the direction to a float position and rounding
it at every step. That position is the same for every voxel (it starts at 0), so the
rounded steps and the distance at each step are computed once per ray, and every
voxel of a row run (the voxels of one instance next to each other along X) takes the
same steps. A run is marched as one word of up to 64 lanes: each instance has a bit
image (1 where the instance is), a step moves the run's bit index by the same amount
for every lane, one funnel shift reads the 64 bits, and the lanes still inside are
counted by a 5-bit vertical counter. The march is integer work with no branch per
voxel, and gives StarDist's lengths to the bit. A ray whose position comes within 1e-9
of a half-voxel tie (where rounding i + y differs from i + rounding y) is marched in
floats, voxel by voxel, as StarDist does.
"""
import numba
import numpy as np

_TIE = 1e-9


@numba.njit(cache=True, nogil=True)
def _ray_tables(direction, shape):
    """Rounded offsets (3, steps + 1) of each step, distance at each step, and whether the ray meets a tie.

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
        if hh < 0 or hh >= depth or ii < 0 or ii >= height or jj < 0 or jj >= width or labels[hh, ii, jj] != value:
            # the last step overshot the boundary: step back to half a voxel past the last inside one
            correction = 0.5 / max(abs(dz), max(abs(dy), abs(dx))) - 1.0
            z += correction * dz
            y += correction * dy
            x += correction * dx
            return np.sqrt(z * z + y * y + x * x)


LANES = 64
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
def instance_bits(labels, runs, count, margin_z, margin_x):
    """One bit image per label id (1 on the id's voxels) in a pool of words, and where each starts.

    Built from the row ``runs`` (no pass over the background). Each image is the id's
    bounding box grown by ``margin_z`` planes, one row and ``margin_x`` columns on both
    sides (all 0 there), so that every sample a run's lanes take while one of them is
    still inside falls in it. ``geometry[id]`` = first bit, bits per plane, bits per row,
    and the (Z, Y, X) voxel at bit 0 of the image.
    """
    boxes = np.empty((count, 6), np.int64)
    boxes[:, 0::2] = np.iinfo(np.int64).max
    boxes[:, 1::2] = -1
    for r in range(runs.shape[0]):
        h, i, start, stop = runs[r, 0], runs[r, 1], runs[r, 2], runs[r, 3]
        box = boxes[labels[h, i, start]]
        box[0] = min(box[0], h)
        box[1] = max(box[1], h)
        box[2] = min(box[2], i)
        box[3] = max(box[3], i)
        box[4] = min(box[4], start)
        box[5] = max(box[5], stop - 1)
    geometry = np.zeros((count, 6), np.int64)
    words = 0
    for value in range(1, count):
        box = boxes[value]
        if box[1] < 0:
            continue
        planes = box[1] - box[0] + 1 + 2 * margin_z
        rows = box[3] - box[2] + 3
        columns = box[5] - box[4] + 1 + 2 * margin_x
        geometry[value, 0] = words * 64
        geometry[value, 1] = rows * columns
        geometry[value, 2] = columns
        geometry[value, 3] = box[0] - margin_z
        geometry[value, 4] = box[2] - 1
        geometry[value, 5] = box[4] - margin_x
        # one word more: the funnel shift reads the word after the last bit
        words += (planes * rows * columns + 63) // 64 + 1
    pool = np.zeros(words, np.uint64)
    for r in range(runs.shape[0]):
        h, i, start, stop = runs[r, 0], runs[r, 1], runs[r, 2], runs[r, 3]
        g = geometry[labels[h, i, start]]
        row_bit = g[0] + (h - g[3]) * g[1] + (i - g[4]) * g[2] - g[5]
        for bit in range(row_bit + start, row_bit + stop):
            pool[bit >> 6] |= _ONE << np.uint64(bit & 63)
    return pool, geometry


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
            codes[k, s] = ((offsets[0, s] - offsets[0, s - 1] + 1) * 9 + (offsets[1, s] - offsets[1, s - 1] + 1) * 3
                           + offsets[2, s] - offsets[2, s - 1] + 1)
            lengths[k, s] = distances[s]
    return codes, lengths, tied


@numba.njit(cache=True, nogil=True, inline="always")
def _add_counts(c0, c1, c2, c3, c4, lanes, spread, wide):
    """Add the 5-bit counts held bit-sliced in c0..c4 to ``wide[:lanes]``, eight lanes per table lookup."""
    for group in range(0, lanes, 8):
        shift = np.uint64(group)
        counts = (spread[(c0 >> shift) & np.uint64(255)] | (spread[(c1 >> shift) & np.uint64(255)] << np.uint64(1))
                  | (spread[(c2 >> shift) & np.uint64(255)] << np.uint64(2))
                  | (spread[(c3 >> shift) & np.uint64(255)] << np.uint64(3))
                  | (spread[(c4 >> shift) & np.uint64(255)] << np.uint64(4)))
        for lane in range(group, min(group + 8, lanes)):
            wide[lane] += np.int64((counts >> np.uint64(8 * (lane - group))) & np.uint64(255))


@numba.njit(cache=True, nogil=True, parallel=True)
def star_distances(labels, directions, count, out, blocks):
    """StarDist's ray lengths of a (Z, Y, X) label volume into ``out`` (nrays, Z, Y, X), zeros outside instances.

    ``count`` is the largest label id + 1; a 2D image is one plane with dz = 0. The runs
    are cut into ``blocks`` that numba's threads share (each run writes only its own voxels).
    """
    depth, height, width = labels.shape
    one = np.uint64(1)
    nrays = directions.shape[0]
    codes, lengths, tied = _ray_steps(directions, np.array([depth, height, width], np.int64))
    runs = row_runs(labels)
    longest_run = 0
    for r in range(runs.shape[0]):
        longest_run = max(longest_run, runs[r, 3] - runs[r, 2])
    margin_z = 0
    for k in range(nrays):
        if directions[k, 0] != 0.0:
            margin_z = 1
    pool, geometry = instance_bits(labels, runs, count, margin_z, min(LANES, longest_run))
    # byte t of spread[x] is bit t of x: eight lanes of a counter slice side by side
    spread = np.zeros(256, np.uint64)
    for x in range(256):
        for t in range(8):
            spread[x] |= ((np.uint64(x) >> np.uint64(t)) & one) << np.uint64(8 * t)
    flat_out = out.reshape(-1)
    volume = depth * height * width
    nruns = runs.shape[0]
    blocks = max(1, min(nruns, blocks))
    for block in numba.prange(blocks):
        wide = np.zeros(LANES, np.int64)
        delta = np.empty(27, np.int64)
        for r in range(block * nruns // blocks, (block + 1) * nruns // blocks):
            h = runs[r, 0]
            i = runs[r, 1]
            start = runs[r, 2]
            stop = runs[r, 3]
            g = geometry[labels[h, i, start]]
            for code in range(27):
                delta[code] = (code // 9 - 1) * g[1] + ((code // 3) % 3 - 1) * g[2] + code % 3 - 1
            row_bit = g[0] + (h - g[3]) * g[1] + (i - g[4]) * g[2] - g[5]
            row_out = (h * height + i) * width
            for k in range(nrays):
                if tied[k]:
                    for j in range(start, stop):
                        flat_out[k * volume + row_out + j] = _float_march(labels, h, i, j, directions[k, 0],
                                                                          directions[k, 1], directions[k, 2])
                    continue
                for first in range(start, stop, LANES):
                    n = min(LANES, stop - first)
                    alive = (one << np.uint64(n)) - one if n < 64 else ~np.uint64(0)
                    bit = row_bit + first
                    c0 = np.uint64(0)
                    c1 = np.uint64(0)
                    c2 = np.uint64(0)
                    c3 = np.uint64(0)
                    c4 = np.uint64(0)
                    s = 0
                    since_flush = 0
                    while alive:
                        s += 1
                        since_flush += 1
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
                        bit += delta[codes[k, s]]
                        word = np.uint64(bit) >> np.uint64(6)
                        shift = np.uint64(bit) & np.uint64(63)
                        alive &= (pool[word] >> shift) | ((pool[word + one] << one) << (np.uint64(63) - shift))
                        if since_flush == 31:
                            # the counter is full: move it to the lanes' wide counts
                            since_flush = 0
                            _add_counts(c0, c1, c2, c3, c4, n, spread, wide)
                            c0 = c1 = c2 = c3 = c4 = np.uint64(0)
                    _add_counts(c0, c1, c2, c3, c4, n, spread, wide)
                    at = k * volume + row_out + first
                    for lane in range(n):
                        flat_out[at + lane] = lengths[k, wide[lane]]
                        wide[lane] = 0
    return out

