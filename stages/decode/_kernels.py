"""Compiled kernels of the watershed decoder (imported lazily: numba compiles on first use)."""
import numba
import numpy as np

LEVELS = 65536


@numba.njit(cache=True, nogil=True)
def flood_buckets(levels, labels, mask, offsets, following, run):
    """Grow ``labels`` (flat, 0 = unlabelled) over ``mask`` in order of ``levels``, first come first served.

    Every array is flat and padded so that no offset leaves it from a voxel inside the
    mask. A voxel is labelled when it is first reached and queued at the higher of its
    own level and the level being flooded: one pass, no heap. Voxels queued for a
    level above the current one wait in a linked list per level (``following``, one
    slot per voxel); voxels reached at the current level, most of them on the plateaus
    of a probability map, go to a plain array (``run``) read in order after that list,
    which keeps the order first-in first-out and the memory traffic sequential.
    """
    size = levels.size
    head = np.full(LEVELS, -1, np.int64)
    tail = np.full(LEVELS, -1, np.int64)
    for index in range(size):
        if labels[index] > 0:
            level = levels[index]
            if tail[level] == -1:
                head[level] = index
            else:
                following[tail[level]] = index
            following[index] = -1
            tail[level] = index
    for current in range(LEVELS):
        waiting = head[current]
        if waiting == -1:
            continue
        read = 0
        write = 0
        while True:
            if waiting != -1:
                index = waiting
                waiting = following[index]
            elif read < write:
                index = run[read]
                read += 1
            else:
                break
            label = labels[index]
            for offset in offsets:
                neighbour = index + offset
                if mask[neighbour] and labels[neighbour] == 0:
                    labels[neighbour] = label
                    level = levels[neighbour]
                    if level <= current:
                        run[write] = neighbour
                        write += 1
                    else:
                        following[neighbour] = -1
                        if tail[level] == -1:
                            head[level] = neighbour
                        else:
                            following[tail[level]] = neighbour
                        tail[level] = neighbour
    return labels


@numba.njit(cache=True, nogil=True)
def quantise_in_mask(surface, mask, levels_out):
    """Write uint16 levels of ``surface`` (0 at its minimum inside ``mask``, 65535 at its maximum).

    Arrays are flat; returns False (levels left 0) when the mask is empty or flat.
    """
    low = np.inf
    high = -np.inf
    for index in range(surface.size):
        if mask[index]:
            value = surface[index]
            if value < low:
                low = value
            if value > high:
                high = value
    if not high > low:
        return False
    scale = 65535.0 / (np.float64(high) - np.float64(low))
    for index in range(surface.size):
        level = np.rint((np.float64(surface[index]) - low) * scale)
        levels_out[index] = 0 if level < 0 else (65535 if level > 65535 else np.uint16(level))
    return True


@numba.njit(cache=True, nogil=True)
def histogram_256(values, low, high):
    """256-bin histogram of ``values`` over [low, high] (np.histogram's uniform bins); high > low."""
    counts = np.zeros(256, np.int64)
    scale = 256.0 / (np.float64(high) - np.float64(low))
    low = np.float64(low)
    for value in values:
        index = int((np.float64(value) - low) * scale)
        if index > 255:
            index = 255
        counts[index] += 1
    return counts


@numba.njit(cache=True, nogil=True)
def smooth_3_taps(values, side, middle, scale):
    """``scale`` x the 3-tap filter (side, middle, side) along z, y and x of a (Z, Y, X) array, edges reflected.

    Plane by plane: x then y through a plane buffer that stays in cache, z last with the
    previous plane kept aside; the edges are peeled off so the inner loops vectorise.
    """
    depth, height, width = values.shape
    out = np.empty_like(values)
    along_x = np.empty((height, width), np.float32)
    side_out = np.float32(side * scale)
    middle_out = np.float32(middle * scale)
    side = np.float32(side)
    middle = np.float32(middle)
    for z in range(depth):
        for y in range(height):
            row = values[z, y]
            smoothed = along_x[y]
            if width == 1:
                smoothed[0] = row[0]
                continue
            smoothed[0] = side * (row[0] + row[1]) + middle * row[0]
            for x in range(1, width - 1):
                smoothed[x] = side * (row[x - 1] + row[x + 1]) + middle * row[x]
            smoothed[width - 1] = side * (row[width - 2] + row[width - 1]) + middle * row[width - 1]
        for y in range(height):
            before = along_x[max(y - 1, 0)]
            after = along_x[min(y + 1, height - 1)]
            centre = along_x[y]
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
                    target[y, x] = side * (previous[y, x] + following[y, x]) + middle * current[y, x]
            previous, current = current, previous
    return out


@numba.njit(cache=True, nogil=True)
def sobel_all_axes(values):
    """ndi.sobel along z, y and x of a (Z, Y, X) array in one pass (edges reflected), stacked (3, Z, Y, X).

    Each derivative is the central difference along its axis smoothed by (1, 2, 1) along
    the two others; a 2D image passed as (1, Y, X) comes out 4x ndi's 2D sobel.
    """
    depth, height, width = values.shape
    out = np.empty((3, depth, height, width), np.float32)
    weights = np.array([1.0, 2.0, 1.0])
    for z in range(depth):
        zs = (max(z - 1, 0), z, min(z + 1, depth - 1))
        for y in range(height):
            ys = (max(y - 1, 0), y, min(y + 1, height - 1))
            for x in range(width):
                xs = (max(x - 1, 0), x, min(x + 1, width - 1))
                dz = 0.0
                dy = 0.0
                dx = 0.0
                for a in range(3):
                    for b in range(3):
                        # dz: difference over z, smoothing over (y, x) = (a, b)
                        dz += weights[a] * weights[b] * (values[zs[2], ys[a], xs[b]] - values[zs[0], ys[a], xs[b]])
                        # dy: difference over y, smoothing over (z, x) = (a, b)
                        dy += weights[a] * weights[b] * (values[zs[a], ys[2], xs[b]] - values[zs[a], ys[0], xs[b]])
                        # dx: difference over x, smoothing over (z, y) = (a, b)
                        dx += weights[a] * weights[b] * (values[zs[a], ys[b], xs[2]] - values[zs[a], ys[b], xs[0]])
                out[0, z, y, x] = dz
                out[1, z, y, x] = dy
                out[2, z, y, x] = dx
    return out
