"""Compiled multi-label Euclidean distance transform (imported lazily).

The distance of a voxel to the nearest voxel of another label is separable, as for one
binary image (Felzenszwalb & Huttenlocher's lower envelope of parabolas, one axis after
the other), once each pass works inside runs of one label: along a line, a voxel's nearest
other-label voxel in any other line is never nearer than through the end of its own run,
whose neighbour beyond holds another label at squared distance 0 of that pass. The first
axis needs no envelope (its distances are the run ends' alone); every later axis takes the
envelope of the previous pass's squared distances over each run plus the two run ends.
Squared distances are integers, exact in float32 below 2**24.
"""

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, inline="always")
def _envelope_of_run(values, lo, hi, left_wall, right_wall, positions, heights, bounds):
    """Squared distances of one run ``values[lo:hi]`` in place: the lower envelope of its parabolas.

    ``left_wall`` / ``right_wall``: the voxel before ``lo`` / at ``hi`` holds another label
    (a parabola of height 0 there). Infinite heights (no other label seen yet) are skipped.
    """
    k = -1
    s = 0.0
    for step in range(hi - lo + 2):
        q = lo - 1 + step
        if step == 0:
            if not left_wall:
                continue
            height = 0.0
        elif q == hi:
            if not right_wall:
                continue
            height = 0.0
        else:
            height = np.float64(values[q])
            if height == np.inf:
                continue
        if k < 0:
            k = 0
            positions[0] = q
            heights[0] = height
            bounds[0] = -np.inf
            continue
        while True:
            v = positions[k]
            s = ((height + q * q) - (heights[k] + v * v)) / (2.0 * (q - v))
            if s <= bounds[k]:
                k -= 1  # never past 0: bounds[0] is -inf
            else:
                break
        k += 1
        positions[k] = q
        heights[k] = height
        bounds[k] = s
    if k < 0:
        for x in range(lo, hi):
            values[x] = np.inf
        return
    j = 0
    for x in range(lo, hi):
        while j < k and bounds[j + 1] < x:
            j += 1
        offset = x - positions[j]
        values[x] = offset * offset + heights[j]


@numba.njit(cache=True, nogil=True)
def _envelope_of_line(
    line_labels, values, border, background_zero, finish, positions, heights, bounds
):
    """Every run of one label along a line, through ``_envelope_of_run``; square roots if
    ``finish``."""
    n = line_labels.shape[0]
    lo = 0
    while lo < n:
        value = line_labels[lo]
        hi = lo + 1
        while hi < n and line_labels[hi] == value:
            hi += 1
        if background_zero and value == 0:
            for x in range(lo, hi):
                values[x] = 0.0
        else:
            _envelope_of_run(
                values, lo, hi, lo > 0 or border, hi < n or border, positions, heights, bounds
            )
            if finish:
                for x in range(lo, hi):
                    values[x] = np.sqrt(values[x])
        lo = hi


@numba.njit(cache=True, nogil=True)
def _run_ends_along_first_axis(labels, out, border, x0, x1):
    """Squared distance along axis 0 to the nearest voxel of another label, for columns x0:x1 of (N,
    M).

    Rows whole, forward then backward, so the inner loop runs over contiguous voxels.
    """
    n = labels.shape[0]
    start = np.float32(1.0) if border else np.float32(np.inf)
    for x in range(x0, x1):
        out[0, x] = start
    for i in range(1, n):
        for x in range(x0, x1):
            out[i, x] = (
                np.float32(1.0)
                if labels[i, x] != labels[i - 1, x]
                else out[i - 1, x] + np.float32(1.0)
            )
    after = np.full(x1 - x0, start, np.float32)
    for i in range(n - 1, -1, -1):
        for x in range(x0, x1):
            if i + 1 < n:
                after[x - x0] = (
                    np.float32(1.0)
                    if labels[i, x] != labels[i + 1, x]
                    else after[x - x0] + np.float32(1.0)
                )
            nearest = min(out[i, x], after[x - x0])
            out[i, x] = nearest * nearest


def distance_to_other_labels(labels, planar, border, background_zero, squared, threads):
    """Euclidean distance (float32) of every voxel of a (Z, Y, X) volume to the nearest voxel of
    another label.

    ``border``: the outside of the image counts as another label, else a volume of one
    label is infinite. ``background_zero``: label 0 voxels get 0 (they still count as
    another label for the rest). ``planar``: the (1, Y, X) volume is a 2D image (no Z axis,
    so no Z border). ``squared``: the squared distances (integers in float32), no root. The
    passes are cut into ``threads`` blocks for numba's threads. (2D and 3D are two kernels:
    each parallel loop costs seconds to compile, and an image needs only one of them.)
    """
    if planar:
        return _distance_2d(labels, border, background_zero, squared, threads)
    return _distance_3d(labels, border, background_zero, squared, threads)


@numba.njit(cache=True, nogil=True, parallel=True)
def _distance_2d(labels, border, background_zero, squared, threads):
    """:func:`distance_to_other_labels` of a (1, Y, X) image: run ends along Y, then the envelope
    along X."""
    depth, height, width = labels.shape
    out = np.empty(labels.shape, np.float32)
    plane_labels = labels[0]
    plane = out[0]
    chunk = (width + threads - 1) // threads
    for t in numba.prange(threads):
        x0 = min(width, t * chunk)
        _run_ends_along_first_axis(plane_labels, plane, border, x0, min(width, x0 + chunk))
    rows = (height + threads - 1) // threads
    for t in numba.prange(threads):
        positions = np.empty(width + 2, np.int64)
        heights = np.empty(width + 2, np.float64)
        bounds = np.empty(width + 2, np.float64)
        for y in range(t * rows, min(height, (t + 1) * rows)):
            _envelope_of_line(
                plane_labels[y],
                plane[y],
                border,
                background_zero,
                not squared,
                positions,
                heights,
                bounds,
            )
    return out


@numba.njit(cache=True, nogil=True, parallel=True)
def _distance_3d(labels, border, background_zero, squared, threads):
    """:func:`distance_to_other_labels` of a (Z, Y, X) volume: run ends along Z, then envelopes
    along Y and X per plane."""
    depth, height, width = labels.shape
    out = np.empty(labels.shape, np.float32)
    flat_labels = labels.reshape(depth, height * width)
    flat_out = out.reshape(depth, height * width)
    chunk = (height * width + threads - 1) // threads
    for t in numba.prange(threads):
        x0 = min(height * width, t * chunk)
        _run_ends_along_first_axis(
            flat_labels, flat_out, border, x0, min(height * width, x0 + chunk)
        )
    longest = max(height, width) + 2
    for z in numba.prange(depth):
        positions = np.empty(longest, np.int64)
        heights = np.empty(longest, np.float64)
        bounds = np.empty(longest, np.float64)
        column_labels = np.empty(height, labels.dtype)
        column = np.empty(height, np.float32)
        for x in range(width):
            for y in range(height):
                column_labels[y] = labels[z, y, x]
                column[y] = out[z, y, x]
            _envelope_of_line(
                column_labels, column, border, background_zero, False, positions, heights, bounds
            )
            for y in range(height):
                out[z, y, x] = column[y]
        for y in range(height):
            _envelope_of_line(
                labels[z, y],
                out[z, y],
                border,
                background_zero,
                not squared,
                positions,
                heights,
                bounds,
            )
    return out
