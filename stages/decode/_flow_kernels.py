"""Compiled flow following of the gradient-flow decoder (imported lazily)."""

import numba


@numba.njit(cache=True, nogil=True, inline="always")
def _trilinear(plane, z0, y0, x0, z1, y1, x1, fz, fy, fx):
    near = (plane[z0, y0, x0] * (1 - fx) + plane[z0, y0, x1] * fx) * (1 - fy) + (
        plane[z0, y1, x0] * (1 - fx) + plane[z0, y1, x1] * fx
    ) * fy
    far = (plane[z1, y0, x0] * (1 - fx) + plane[z1, y0, x1] * fx) * (1 - fy) + (
        plane[z1, y1, x0] * (1 - fx) + plane[z1, y1, x1] * fx
    ) * fy
    return near * (1 - fz) + far * fz


@numba.njit(cache=True, nogil=True, parallel=True)
def follow_in_volume(flows, positions, steps, suppressed, threads):
    """In place: each (z, y, x) of ``positions`` (N, 3) moves ``steps`` times by the trilinear
    interpolation of ``flows`` (3, Z, Y, X) at it (clamped to the volume, as
    ``scipy.ndimage.map_coordinates`` with order 1 and mode 'nearest'), staying inside; with
    ``suppressed``, the t-th step is 1/t of the flow. Points are cut into ``threads`` blocks."""
    depth, height, width = flows.shape[1:]
    count = positions.shape[0]
    chunk = (count + threads - 1) // threads
    for block in numba.prange(threads):
        for i in range(block * chunk, min(count, (block + 1) * chunk)):
            z, y, x = positions[i, 0], positions[i, 1], positions[i, 2]
            for done in range(steps):
                z0, y0, x0 = int(z), int(y), int(x)
                z1, y1, x1 = min(z0 + 1, depth - 1), min(y0 + 1, height - 1), min(x0 + 1, width - 1)
                fz, fy, fx = z - z0, y - y0, x - x0
                scale = 1.0 / (1 + done) if suppressed else 1.0
                moved_z = _trilinear(flows[0], z0, y0, x0, z1, y1, x1, fz, fy, fx) * scale
                moved_y = _trilinear(flows[1], z0, y0, x0, z1, y1, x1, fz, fy, fx) * scale
                moved_x = _trilinear(flows[2], z0, y0, x0, z1, y1, x1, fz, fy, fx) * scale
                z = min(max(z + moved_z, 0.0), depth - 1.0)
                y = min(max(y + moved_y, 0.0), height - 1.0)
                x = min(max(x + moved_x, 0.0), width - 1.0)
            positions[i, 0], positions[i, 1], positions[i, 2] = z, y, x
