"""One malloc arena per segpipe process, so that a block-wise stage's peak does not grow with
the number of blocks it reads.

glibc gives every thread that allocates an arena of its own (up to 8 per core). Zarr decodes
chunks in threads, so a block's arrays are spread over many arenas, and the pieces freed in
each are reused poorly: a stage's peak RSS grew with the volume although every block is the
same size (refine +24% and filter-by-properties +33% from 8 M to 510 M voxels; with one arena
the same runs stay within a few percent, no slower: benchmarks/RESULTS.md). segpipe's arrays
are few and large, so one arena costs no measurable lock contention.
"""

from __future__ import annotations

import ctypes
import os
import sys

#: mallopt's parameter number for the arena limit (glibc's malloc.h)
M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int = 1) -> bool:
    """Cap glibc's malloc arenas at ``arenas`` for this process; returns whether it was set.

    Left alone where the user set MALLOC_ARENA_MAX (their choice wins) and where the C library
    is not glibc (no mallopt, or one that ignores the parameter). Call it before threads start:
    arenas made earlier are kept.
    """
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt(M_ARENA_MAX, arenas) == 1
