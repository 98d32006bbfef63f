"""Compiled ray marching for the R channel (as StarDist's c_star_dist, with its half-voxel correction in 3D too).

StarDist steps along a ray by adding the direction to a float position and rounding
it at every step. That position is the same for every voxel (it starts at 0), so the
rounded steps, the distance at each step and the step that leaves the image from
each coordinate are computed once per ray; the march itself is integer work, one
table read and one label comparison per step (1.2-1.4x StarDist's float march, with
the same results to the bit). A ray whose position comes within 1e-9 of a half-voxel
tie (where rounding i + y differs from i + rounding y) is marched in floats, as
StarDist does.
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


@numba.njit(cache=True, nogil=True)
def star_distances(labels, directions):
    """StarDist's ray lengths (nrays, Z, Y, X) of a (Z, Y, X) label volume; a 2D image is one plane with dz = 0."""
    depth, height, width = labels.shape
    nrays = directions.shape[0]
    out = np.zeros((nrays, depth, height, width), np.float32)
    flat_labels = labels.ravel()
    shape = np.array([depth, height, width], np.int64)
    strides = np.array([height * width, width, 1], np.int64)
    for k in range(nrays):
        offsets, distances, tied = _ray_tables(directions[k], shape)
        steps = distances.size - 1
        flat = strides[0] * offsets[0] + strides[1] * offsets[1] + offsets[2]
        # the first step that leaves the image from each coordinate: the rounded offsets
        # move one way along each axis, so a binary search finds it (capped at the last step)
        exits = np.full((3, max(depth, max(height, width))), steps, np.int64)
        for axis in range(3):
            coordinates = np.arange(shape[axis])
            if directions[k, axis] >= 0:
                first_out = np.searchsorted(offsets[axis, 1:], shape[axis] - coordinates) + 1
            else:
                first_out = np.searchsorted(-offsets[axis, 1:], coordinates + 1) + 1
            exits[axis, :shape[axis]] = np.minimum(first_out, steps)
        for h in range(depth):
            for i in range(height):
                exit_zy = min(exits[0, h], exits[1, i])
                for j in range(width):
                    value = labels[h, i, j]
                    if value == 0:
                        continue
                    if tied:
                        out[k, h, i, j] = _float_march(labels, h, i, j, directions[k, 0], directions[k, 1], directions[k, 2])
                        continue
                    limit = min(exit_zy, exits[2, j])
                    base = (h * height + i) * width + j
                    step = 1
                    while step < limit and flat_labels[base + flat[step]] == value:
                        step += 1
                    out[k, h, i, j] = distances[step]
    return out
