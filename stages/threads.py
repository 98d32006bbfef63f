"""How many threads segpipe's compiled kernels use.

One number: numba's (NUMBA_NUM_THREADS, all cores unless set). A stage's
``--threads`` sets it before any kernel is imported, so a Snakemake job uses the
cores the scheduler gave it and no more.
"""

from __future__ import annotations

import os
import sys


def limit_threads(threads: int | None) -> None:
    """Cap the kernels' threads at ``threads`` (None: leave numba's default)."""
    if not threads:
        return
    if "numba" not in sys.modules:
        os.environ["NUMBA_NUM_THREADS"] = str(threads)
        return
    # numba is loaded: its pool may only be used partly (changing NUMBA_NUM_THREADS now
    # would make numba refuse to run once its threads have started)
    import numba

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


def kernel_threads() -> int:
    """Threads a compiled kernel may use now."""
    import numba

    return numba.get_num_threads()


def prefer_fork_safe_kernels() -> None:
    """Run numba's parallel kernels on a threading layer that a forked process may use.

    Training batches are made in forked workers after the targets were encoded in the
    training process; numba's usual layer from pip, GNU OpenMP, ends a forked child that runs
    a parallel kernel then. "forksafe" takes TBB or a fork-safe OpenMP when installed, else
    numba's own workqueue (as fast on segpipe's kernels: benchmarks/RESULTS.md, 2026-12-04 night).
    A NUMBA_THREADING_LAYER the user set wins.
    """
    if "NUMBA_THREADING_LAYER" in os.environ:
        return
    os.environ["NUMBA_THREADING_LAYER"] = "forksafe"
    if "numba" in sys.modules:  # its config was read at import
        sys.modules["numba"].config.THREADING_LAYER = "forksafe"
