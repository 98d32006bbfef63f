"""Compiled kernels of the seeded flood (imported lazily: numba compiles on first use).

Every kernel but the first and last works on flat arrays padded by one voxel along
each axis of the image, so that no neighbour offset leaves them from a voxel inside
the image; ``flags`` holds, per voxel, the bits below (0 in the padding).
"""

import numba
import numpy as np

LEVELS = 65536
GROWTH = np.uint8(1)  # inside the growth mask: may be flooded
SEED = np.uint8(2)  # a seed voxel
SEED_VISITED = np.uint8(4)  # reached by the labelling of seed components
UNSEEDED_VISITED = np.uint8(8)  # reached by the labelling of unseeded components
LABELLED = np.uint8(16)  # holds a label (mirrors labels != 0: one byte to read instead of four)
FILLED = np.uint8(32)  # in a growth component filled whole before the flood: nothing there to queue
_BYTES = np.uint64(0x0101010101010101)  # times a flag: that flag in each of a word's eight bytes
_HIGH_BITS = np.uint64(0x8080808080808080)
FLOODABLE = GROWTH | LABELLED  # masked by this, a voxel the flood may take reads GROWTH


@numba.njit(cache=True, nogil=True)
def pad_levels_and_flags(surface, seeds, growth, pad_z, levels, flags, counts):
    """Write the padded uint16 levels of ``surface``, the GROWTH/SEED flags and the count of each
    level.

    ``surface``, ``seeds``, ``growth``: (Z, Y, X); ``levels`` and ``flags``: zeroed
    (Z + 2 pad_z, Y + 2, X + 2); ``counts``: zeroed (65536,), counts GROWTH voxels per level.
    Levels run from 0 at the minimum of ``surface`` inside ``growth`` to 65535 at its
    maximum (all 0 where the mask is empty or flat).
    """
    depth, height, width = surface.shape
    low = np.inf
    high = -np.inf
    for z in range(depth):
        for y in range(height):
            for x in range(width):
                if growth[z, y, x]:
                    value = surface[z, y, x]
                    low = min(low, value)
                    high = max(high, value)
    scale = 65535.0 / (np.float64(high) - np.float64(low)) if high > low else 0.0
    for z in range(depth):
        for y in range(height):
            inside = growth[z, y]
            row = surface[z, y]
            row_flags = flags[z + pad_z, y + 1, 1 : width + 1]
            row_levels = levels[z + pad_z, y + 1, 1 : width + 1]
            seed_row = seeds[z, y]
            # branch-free loops the compiler vectorises (an int32 conversion, not int64)
            for x in range(width):
                row_flags[x] = (GROWTH if inside[x] else np.uint8(0)) | (
                    SEED if seed_row[x] else np.uint8(0)
                )
            for x in range(width):
                level = np.int32(
                    min(max(np.rint((np.float64(row[x]) - low) * scale), 0.0), 65535.0)
                )
                row_levels[x] = np.uint16(level) if inside[x] else np.uint16(0)
            # counted by runs of one level: a plateau's voxels do not wait on one counter each
            previous = 0
            run = 0
            for x in range(width):
                if inside[x]:
                    level = row_levels[x]
                    if level != previous:
                        counts[previous] += run
                        previous = level
                        run = 0
                    run += 1
            counts[previous] += run


@numba.njit(cache=True, nogil=True, inline="always")
def _root(parent, run):
    while parent[run] != run:
        parent[run] = parent[parent[run]]  # path halving
        run = parent[run]
    return run


@numba.njit(cache=True, nogil=True, inline="always")
def _join_rows(parent, starts, stops, first_a, end_a, first_b, end_b):
    """Union every pair of runs of two rows that overlap along X (face neighbours); the lower run
    index is the root."""
    a = first_a
    b = first_b
    while a < end_a and b < end_b:
        if starts[a] < stops[b] and starts[b] < stops[a]:
            ra = _root(parent, a)
            rb = _root(parent, b)
            if ra < rb:
                parent[rb] = ra
            elif rb < ra:
                parent[ra] = rb
        if stops[a] < stops[b]:
            a += 1
        else:
            b += 1


@numba.njit(cache=True, nogil=True)
def _joined_runs(flags, words, test, member, scratch):
    """The runs along X of voxels whose ``flags & test == member``, joined into face-connected
    components.

    ``words``: the flags' flat buffer read as uint64 (see ``flag_buffer``), to skip eight at a time.
    Each run is joined with the overlapping runs of the row above and of the same row in
    the plane before (union-find, the earliest run as root), so a component's root is its
    first run in raster order. Returns each run's start and stop (X), the first run of
    every row (and the count at the end) and the parent array. ``scratch`` (flags.size or
    more entries) holds the runs' ends while they are found.
    """
    depth, height, width = flags.shape
    row_first = np.zeros(depth * height + 1, np.int64)
    count = 0
    # eight flags at a time where none holds the member bit (most of an image is background)
    member_bytes = np.uint64(member) * _BYTES
    for z in range(depth):
        for y in range(height):
            row_first[z * height + y] = count
            base = (z * height + y) * width
            x = 0
            while x < width:
                at = base + x
                if at & 7 == 0 and x + 8 <= width and words[at >> 3] & member_bytes == 0:
                    x += 8
                    continue
                if flags[z, y, x] & test != member:
                    x += 1
                    continue
                scratch[2 * count] = x
                while x < width and flags[z, y, x] & test == member:
                    x += 1
                scratch[2 * count + 1] = x
                count += 1
    row_first[depth * height] = count
    starts = np.empty(count, np.int64)
    stops = np.empty(count, np.int64)
    for r in range(count):
        starts[r] = scratch[2 * r]
        stops[r] = scratch[2 * r + 1]
    parent = np.arange(count)
    for z in range(depth):
        for y in range(height):
            row = z * height + y
            if row_first[row] == row_first[row + 1]:
                continue
            if y > 0:
                _join_rows(
                    parent,
                    starts,
                    stops,
                    row_first[row - 1],
                    row_first[row],
                    row_first[row],
                    row_first[row + 1],
                )
            if z > 0:
                before = row - height
                _join_rows(
                    parent,
                    starts,
                    stops,
                    row_first[before],
                    row_first[before + 1],
                    row_first[row],
                    row_first[row + 1],
                )
    return starts, stops, row_first, parent


@numba.njit(cache=True, nogil=True)
def _roots_and_voxels(starts, stops, parent):
    """Each run's root and, at each root, its component's voxel count."""
    roots = np.empty(starts.size, np.int64)
    voxels = np.zeros(starts.size, np.int64)
    for r in range(starts.size):
        roots[r] = _root(parent, r)
        voxels[roots[r]] += stops[r] - starts[r]
    return roots, voxels


@numba.njit(cache=True, nogil=True)
def label_components_by_runs(flags, words, member, visited, labels, scratch, next_id, min_size):
    """Give each face-connected component of ``member`` voxels that ``labels`` leaves at 0 a new id.

    Components come in raster order of their first voxel (as skimage.measure.label), those
    of fewer than ``min_size`` voxels stay 0 (but ``visited``). Returns the next free id and,
    per labelled component, its voxel count inside GROWTH. By runs along X joined with
    union-find (a component's root is its first run, :func:`_joined_runs`): a component is
    mostly a few long runs, so the work is a pass over the flags and one over its voxels.
    (Equal to a breadth-first search from each first voxel: tested.)
    """
    depth, height, width = flags.shape
    starts, stops, row_first, parent = _joined_runs(
        flags, words, member | visited | LABELLED, member, scratch
    )
    count = starts.size
    roots, voxels = _roots_and_voxels(starts, stops, parent)
    growing = np.zeros(count, np.int64)
    for z in range(depth):
        for y in range(height):
            row = z * height + y
            for r in range(row_first[row], row_first[row + 1]):
                for x in range(starts[r], stops[r]):
                    growing[roots[r]] += flags[z, y, x] & GROWTH
    ids, sizes, next_id = _number_roots(parent, voxels >= min_size, growing, next_id)
    _write_ids(flags, labels, starts, stops, row_first, parent, ids, visited | LABELLED, visited)
    return next_id, sizes


@numba.njit(cache=True, nogil=True)
def _number_roots(parent, keep, values, next_id):
    """Ids from ``next_id`` for the components whose root run is ``keep``, and their ``values``, in
    raster order.

    A component's root is its first run, so the order of roots is the raster order of the
    components' first voxels. Returns the id of every root (0 where not kept), the kept
    values and the next free id.
    """
    ids = np.zeros(parent.size, np.int64)
    kept = 0
    for r in range(parent.size):
        if parent[r] == r and keep[r]:
            ids[r] = next_id + kept
            kept += 1
    sizes = np.empty(kept, np.int64)
    for r in range(parent.size):
        if ids[r]:
            sizes[ids[r] - next_id] = values[r]
    return ids, sizes, next_id + kept


@numba.njit(cache=True, nogil=True)
def _write_ids(flags, labels, starts, stops, row_first, parent, ids, mark_labelled, mark_other):
    """Write ``ids[root]`` over every run whose root has a non-zero id, flagging it
    ``mark_labelled``; other runs get ``mark_other``."""
    depth, height, width = flags.shape
    for z in range(depth):
        for y in range(height):
            row = z * height + y
            for r in range(row_first[row], row_first[row + 1]):
                label = ids[_root(parent, r)]
                if label:
                    for x in range(starts[r], stops[r]):
                        flags[z, y, x] |= mark_labelled
                        labels[z, y, x] = label
                elif mark_other:
                    for x in range(starts[r], stops[r]):
                        flags[z, y, x] |= mark_other


@numba.njit(cache=True, nogil=True)
def fill_lone_seed_components(flags, words, labels, scratch, sizes):
    """Label every growth component that holds seeds of one id only with that id, before the flood.

    The flood reaches every voxel of a growth component that holds a seed, and one
    component never meets another, so where a component's seed voxels (inside GROWTH)
    all carry one id the flood's result there is that id, whatever the order: only the
    components with several ids need the flood. Seed voxels must be labelled (and
    LABELLED) already; ``sizes[id]`` (the seed voxels inside GROWTH) grows by the voxels
    filled, and a filled component is FILLED, so the flood does not look for its edges.
    Returns the growth components' runs (:func:`_joined_runs`) and, per root run, its
    component's voxel count and owner (0: no seed, -1: several ids, else the id), for
    :func:`label_unseeded_components` after the flood.
    """
    depth, height, width = flags.shape
    starts, stops, row_first, parent = _joined_runs(flags, words, GROWTH, GROWTH, scratch)
    count = starts.size
    roots, voxels = _roots_and_voxels(starts, stops, parent)
    owner = np.zeros(count, np.int64)
    for z in range(depth):
        for y in range(height):
            row = z * height + y
            for r in range(row_first[row], row_first[row + 1]):
                root = roots[r]
                if owner[root] < 0:
                    continue
                for x in range(starts[r], stops[r]):
                    label = labels[z, y, x]
                    if label != 0 and label != owner[root]:
                        if owner[root] == 0:
                            owner[root] = label
                        else:
                            owner[root] = -1
                            break
    for z in range(depth):
        for y in range(height):
            row = z * height + y
            for r in range(row_first[row], row_first[row + 1]):
                label = owner[roots[r]]
                if label > 0:
                    added = 0
                    for x in range(starts[r], stops[r]):
                        added += labels[z, y, x] == 0
                        labels[z, y, x] = label  # its seed voxels hold it already
                        flags[z, y, x] |= LABELLED | FILLED
                    sizes[label] += added
    return starts, stops, row_first, parent, owner, voxels


@numba.njit(cache=True, nogil=True)
def label_unseeded_components(
    flags, labels, starts, stops, row_first, parent, owner, voxels, next_id, min_size
):
    """After the flood: the growth components without a seed (owner 0) of ``min_size`` voxels or
    more get new ids.

    The same ids, in the same order (raster order of first voxels), and sizes as
    :func:`label_components_by_runs` over the GROWTH voxels the flood left: those are
    exactly the voxels of the components without a seed.
    """
    ids, sizes, next_id = _number_roots(
        parent, (owner == 0) & (voxels >= min_size), voxels, next_id
    )
    _write_ids(
        flags,
        labels,
        starts,
        stops,
        row_first,
        parent,
        ids,
        UNSEEDED_VISITED | LABELLED,
        np.uint8(0),
    )
    return next_id, sizes


@numba.njit(cache=True, nogil=True)
def flood_buckets(levels, labels, flags, words, offsets, counts, queued, run, sizes):
    """Grow ``labels`` (0 = unlabelled) over GROWTH voxels in order of ``levels``, first come first
    served.

    ``flags`` has LABELLED wherever ``labels`` is not 0; labels outside GROWTH are
    cleared first. A voxel is labelled when it is first reached and queued at the
    higher of its own level and the level being flooded: one pass, no heap. Only
    labelled voxels with a floodable neighbour are queued (the inside of a seed has
    none). A voxel queued for its own level, above the one being flooded, is appended
    to that level's bucket: the buckets share ``queued``, each as long as its level's
    count of GROWTH voxels (``counts``), so every append and every read is sequential.
    Voxels reached at or below the current level, most of them on the plateaus of a
    probability map, go to ``run``, read after the current bucket: first in, first
    out. ``sizes[label]`` (holding the seed voxels inside GROWTH) counts the voxels the
    flood adds. ``counts`` is used up (it holds the buckets' ends afterwards). ``words``:
    the flags as uint64 (``flag_buffer``); FILLED voxels are never queued.
    """
    used_count = 0
    for level in range(LEVELS):
        used_count += counts[level] > 0
    used = np.empty(
        used_count, np.int64
    )  # the levels some voxel has, in order: the only buckets to visit
    start = np.empty(LEVELS, counts.dtype)
    used_count = 0
    total = 0
    for level in range(LEVELS):
        start[level] = total
        total += counts[level]
        if counts[level] > 0:
            used[used_count] = level
            used_count += 1
    # counts becomes each bucket's write position (few, small arrays: less memory to touch per call)
    end = counts
    end[:] = start
    # eight flags at a time where none is LABELLED without FILLED: a byte of ``unlike`` is
    # zero exactly at such a voxel, and the classic zero-byte test tells whether a word has one
    marks = np.uint64(LABELLED | FILLED) * _BYTES
    labelled = np.uint64(LABELLED) * _BYTES
    size = levels.size
    index = 0
    while index < size:
        if index & 7 == 0 and index + 8 <= size:
            unlike = (words[index >> 3] & marks) ^ labelled
            if (unlike - _BYTES) & ~unlike & _HIGH_BITS == 0:
                index += 8
                continue
        if flags[index] & (LABELLED | FILLED) == LABELLED:
            if not flags[index] & GROWTH:
                labels[index] = 0
                flags[index] &= ~LABELLED
            else:
                for offset in offsets:
                    if flags[index + offset] & FLOODABLE == GROWTH:
                        level = levels[index]
                        queued[end[level]] = index
                        end[level] += 1
                        break
        index += 1
    for position in range(used_count):
        current = used[position]
        read = start[current]
        if read == end[current]:
            continue
        bucket_end = end[current]
        run_read = 0
        run_write = 0
        while True:
            if read < bucket_end:
                index = queued[read]
                read += 1
            elif run_read < run_write:
                index = run[run_read]
                run_read += 1
            else:
                break
            label = labels[index]
            for offset in offsets:
                neighbour = index + offset
                if flags[neighbour] & FLOODABLE == GROWTH:
                    flags[neighbour] |= LABELLED
                    labels[neighbour] = label
                    sizes[label] += 1
                    level = levels[neighbour]
                    if level <= current:
                        run[run_write] = neighbour
                        run_write += 1
                    else:
                        queued[end[level]] = neighbour
                        end[level] += 1


@numba.njit(cache=True, nogil=True)
def unpad_through_table(labels, pad_z, table, out):
    """``out`` = ``table[labels]`` over the inside of the padded (Z', Y', X') ``labels``."""
    depth, height, width = out.shape
    for z in range(depth):
        for y in range(height):
            for x in range(width):
                out[z, y, x] = table[labels[z + pad_z, y + 1, x + 1]]
