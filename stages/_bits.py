"""Compiled helpers on 64-bit words used as sets of lanes (imported by the kernels only: numba)."""

import numba
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

ONE = np.uint64(1)


@numba.njit(cache=True, nogil=True, inline="always")
def lowest_set(bits):
    """Index of the lowest set bit of a non-zero word."""
    return np.int64(trailing_zeros(bits))


@numba.njit(cache=True, nogil=True, inline="always")
def next_run(bits):
    """(first, stop, rest): the lowest run of set bits of a non-zero word, bits first..stop-1, and
    the word without it."""
    first = np.int64(trailing_zeros(bits))
    above = ~(bits >> np.uint64(first))
    stop = 64 if above == 0 else first + np.int64(trailing_zeros(above))
    rest = np.uint64(0) if stop == 64 else bits & ~((ONE << np.uint64(stop)) - ONE)
    return first, stop, rest
