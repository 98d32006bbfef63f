"""Compiled kernels of the watershed decoder (imported lazily: numba compiles on first use)."""

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def histogram_256(values, low, high):
    """256-bin histogram of ``values`` over [low, high] (np.histogram's uniform bins); high > low.

    Four interleaved sub-histograms: a probability map puts long runs of values in one
    bin, and four counters let consecutive increments of that bin proceed without
    waiting on each other.
    """
    counts = np.zeros((4, 256), np.int64)
    scale = 256.0 / (np.float64(high) - np.float64(low))
    low = np.float64(low)
    size = values.size
    whole = size - size % 4
    for start in range(0, whole, 4):
        for lane in range(4):
            index = min(int((np.float64(values[start + lane]) - low) * scale), 255)
            counts[lane, index] += 1
    for position in range(whole, size):
        counts[0, min(int((np.float64(values[position]) - low) * scale), 255)] += 1
    return counts.sum(axis=0)


@numba.njit(cache=True, nogil=True)
def otsu_256(values, low, high):
    """Otsu's threshold of ``values`` over 256 bins on [low, high] (high > low), as skimage computes
    it.

    The histogram, then numpy's arithmetic of bin centres (np.linspace), class weights and
    means (running sums) and the first maximum of the between-class variance, in one call
    instead of a dozen numpy calls on 256-element arrays.
    """
    return otsu_of_counts(histogram_256(values, low, high), low, high)


@numba.njit(cache=True, nogil=True)
def otsu_of_counts(counts, low, high):
    """Otsu's threshold from the 256-bin ``counts`` of :func:`histogram_256` on [low, high]
    (summed over the blocks of a volume, say)."""
    start = np.float64(low)
    step = (np.float64(high) - start) / 256.0
    edges = np.empty(257)
    for i in range(256):
        edges[i] = np.float64(i) * step + start
    edges[256] = np.float64(high)
    centres = np.empty(256)
    for i in range(256):
        centres[i] = (edges[i] + edges[i + 1]) / 2
    weight_low = np.empty(256, np.int64)
    mean_low = np.empty(256)
    weight = 0
    total = 0.0
    for i in range(256):
        weight += counts[i]
        total += counts[i] * centres[i]
        weight_low[i] = weight
        mean_low[i] = total / weight if weight else np.nan
    weight_high = np.empty(256, np.int64)
    mean_high = np.empty(256)
    weight = 0
    total = 0.0
    for i in range(255, -1, -1):
        weight += counts[i]
        total += counts[i] * centres[i]
        weight_high[i] = weight
        mean_high[i] = total / weight if weight else np.nan
    best = -np.inf
    chosen = 0
    for i in range(255):
        difference = mean_low[i] - mean_high[i + 1]
        between = np.float64(weight_low[i] * weight_high[i + 1]) * (difference * difference)
        if between > best:  # NaN never is: numpy's nanargmax, first maximum
            best = between
            chosen = i
    return centres[chosen]


@numba.njit(cache=True, nogil=True, inline="always")
def _smooth_row(row, smoothed, side, middle):
    width = row.size
    if width == 1:
        smoothed[0] = row[0]
        return
    smoothed[0] = side * (row[0] + row[1]) + middle * row[0]
    for x in range(1, width - 1):
        smoothed[x] = side * (row[x - 1] + row[x + 1]) + middle * row[x]
    smoothed[width - 1] = side * (row[width - 2] + row[width - 1]) + middle * row[width - 1]


@numba.njit(cache=True, nogil=True)
def smooth_3_taps(values, side, middle, scale):
    """``scale`` x the 3-tap filter (side, middle, side) along z, y and x of a (Z, Y, X) array,
    edges reflected.

    Plane by plane: x into a ring of three rows, y from the ring, z last with the previous
    plane kept aside; the edges are peeled off so the inner loops vectorise.
    """
    depth, height, width = values.shape
    out = np.empty_like(values)
    ring = np.empty((3, width), np.float32)  # rows y - 1, y and y + 1, smoothed along x
    side_out = np.float32(side * scale)
    middle_out = np.float32(middle * scale)
    side = np.float32(side)
    middle = np.float32(middle)
    for z in range(depth):
        _smooth_row(values[z, 0], ring[0], side, middle)
        for y in range(height):
            if y + 1 < height:
                _smooth_row(values[z, y + 1], ring[(y + 1) % 3], side, middle)
            before = ring[max(y - 1, 0) % 3]
            after = ring[min(y + 1, height - 1) % 3]
            centre = ring[y % 3]
            target = out[z, y]
            for x in range(width):
                target[x] = side_out * (before[x] + after[x]) + middle_out * centre[x]
    if depth > 1:
        previous = out[0].copy()
        current = np.empty((height, width), np.float32)
        for z in range(depth):
            current[:] = out[z]
            following = out[min(z + 1, depth - 1)]
            target = out[z]
            for y in range(height):
                for x in range(width):
                    target[y, x] = (
                        side * (previous[y, x] + following[y, x]) + middle * current[y, x]
                    )
            previous, current = current, previous
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def _smooth_x(source, target):
    """target = (1, 2, 1) along x of a (Y, X) plane, edges reflected."""
    height, width = source.shape
    for y in range(height):
        row = source[y]
        out = target[y]
        if width == 1:
            out[0] = 4 * row[0]
            continue
        out[0] = 3 * row[0] + row[1]
        for x in range(1, width - 1):
            out[x] = row[x - 1] + 2 * row[x] + row[x + 1]
        out[width - 1] = row[width - 2] + 3 * row[width - 1]


@numba.njit(cache=True, nogil=True, inline="always")
def _difference_x(source, target):
    """target = central difference along x of a (Y, X) plane, edges reflected."""
    height, width = source.shape
    for y in range(height):
        row = source[y]
        out = target[y]
        if width == 1:
            out[0] = 0
            continue
        out[0] = row[1] - row[0]
        for x in range(1, width - 1):
            out[x] = row[x + 1] - row[x - 1]
        out[width - 1] = row[width - 1] - row[width - 2]


@numba.njit(cache=True, nogil=True, inline="always")
def _smooth_y(source, target):
    """target = (1, 2, 1) along y of a (Y, X) plane, edges reflected."""
    height, width = source.shape
    for y in range(height):
        before = source[max(y - 1, 0)]
        after = source[min(y + 1, height - 1)]
        centre = source[y]
        out = target[y]
        for x in range(width):
            out[x] = before[x] + 2 * centre[x] + after[x]


@numba.njit(cache=True, nogil=True, inline="always")
def _difference_y(source, target):
    """target = central difference along y of a (Y, X) plane, edges reflected."""
    height, width = source.shape
    for y in range(height):
        before = source[max(y - 1, 0)]
        after = source[min(y + 1, height - 1)]
        out = target[y]
        for x in range(width):
            out[x] = after[x] - before[x]


@numba.njit(cache=True, nogil=True)
def offset_slope_volume(offsets, own_axes, planar):
    """Per voxel, the largest over offset channels of (Sobel along its own axis + largest |Sobel|
    across).

    ``offsets``: (C, Z, Y, X); ``own_axes``: (C,), the axis (0 z, 1 y, 2 x) each offset
    points along. Sobel as ndi.sobel (edges reflected): the central difference along
    one axis smoothed by (1, 2, 1) along the others, built separably plane by plane
    (z last, through a ring of three x-y smoothed planes). ``planar``: a 2D image as one
    (1, Y, X) plane, with no z derivative and no smoothing along z.
    """
    channels, depth, height, width = offsets.shape
    score = np.full((depth, height, width), -np.inf, np.float32)
    along_z = np.empty((height, width), np.float32)
    buffer = np.empty((height, width), np.float32)
    derivative_y = np.empty((height, width), np.float32)
    derivative_x = np.empty((height, width), np.float32)
    ring = np.empty((3, height, width), np.float32)
    for channel in range(channels):
        values = offsets[channel]
        own = own_axes[channel]
        if not planar:
            for plane in range(min(2, depth)):
                _smooth_x(values[plane], buffer)
                _smooth_y(buffer, ring[plane % 3])
        for z in range(depth):
            before = max(z - 1, 0)
            after = min(z + 1, depth - 1)
            if not planar:
                if z + 1 < depth and z >= 1:
                    _smooth_x(values[z + 1], buffer)
                    _smooth_y(buffer, ring[(z + 1) % 3])
                for y in range(height):
                    for x in range(width):
                        along_z[y, x] = (
                            values[before, y, x] + 2 * values[z, y, x] + values[after, y, x]
                        )
            else:
                along_z[:] = values[0]
            _smooth_x(along_z, buffer)
            _difference_y(buffer, derivative_y)
            _smooth_y(along_z, buffer)
            _difference_x(buffer, derivative_x)
            target = score[z]
            ring_before = ring[before % 3]
            ring_after = ring[after % 3]
            for y in range(height):
                for x in range(width):
                    slope_z = np.float32(0) if planar else ring_after[y, x] - ring_before[y, x]
                    slope_y = derivative_y[y, x]
                    slope_x = derivative_x[y, x]
                    if own == 2:
                        value = slope_x + max(abs(slope_y), abs(slope_z))
                    elif own == 1:
                        value = slope_y + max(abs(slope_x), abs(slope_z))
                    else:
                        value = slope_z + max(abs(slope_y), abs(slope_x))
                    target[y, x] = max(target[y, x], value)
    return score
