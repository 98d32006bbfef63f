"""Compiled ray marching for the R channel (as StarDist's c_star_dist, with its half-voxel correction in 3D too)."""
import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def star_distances_2d(labels, directions):
    height, width = labels.shape
    nrays = directions.shape[0]
    out = np.zeros((nrays, height, width), np.float32)
    for i in range(height):
        for j in range(width):
            value = labels[i, j]
            if value == 0:
                continue
            for k in range(nrays):
                dy = directions[k, 0]
                dx = directions[k, 1]
                y = 0.0
                x = 0.0
                while True:
                    y += dy
                    x += dx
                    ii = int(np.rint(i + y))
                    jj = int(np.rint(j + x))
                    if ii < 0 or ii >= height or jj < 0 or jj >= width or labels[ii, jj] != value:
                        # the last step overshot the boundary: step back to half a voxel past the last inside one
                        correction = 0.5 / max(abs(dy), abs(dx)) - 1.0
                        y += correction * dy
                        x += correction * dx
                        out[k, i, j] = np.sqrt(y * y + x * x)
                        break
    return out


@numba.njit(cache=True, nogil=True)
def star_distances_3d(labels, directions):
    depth, height, width = labels.shape
    nrays = directions.shape[0]
    out = np.zeros((nrays, depth, height, width), np.float32)
    for h in range(depth):
        for i in range(height):
            for j in range(width):
                value = labels[h, i, j]
                if value == 0:
                    continue
                for k in range(nrays):
                    dz = directions[k, 0]
                    dy = directions[k, 1]
                    dx = directions[k, 2]
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
                        if (hh < 0 or hh >= depth or ii < 0 or ii >= height or jj < 0 or jj >= width
                                or labels[hh, ii, jj] != value):
                            correction = 0.5 / max(abs(dz), max(abs(dy), abs(dx))) - 1.0
                            z += correction * dz
                            y += correction * dy
                            x += correction * dx
                            out[k, h, i, j] = np.sqrt(z * z + y * y + x * x)
                            break
    return out
