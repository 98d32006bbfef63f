import subprocess
import sys

import numba

from stages.threads import kernel_threads, limit_threads


def test_limit_threads_caps_the_kernels_and_leaves_the_default_alone():
    before = numba.get_num_threads()
    try:
        limit_threads(None)
        assert kernel_threads() == before
        limit_threads(1)
        assert kernel_threads() == 1
        # numba's threads have started by now: a kernel still runs after the cap
        import numpy as np

        from stages.channels import encode_channels

        assert encode_channels(np.ones((4, 4), np.uint8), ["R"]).shape == (32, 4, 4)
    finally:
        numba.set_num_threads(before)


def test_limit_threads_before_numba_starts_sets_its_pool():
    code = (
        "from stages.threads import limit_threads, kernel_threads; limit_threads(1); "
        "print(kernel_threads())"
    )
    assert (
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "1"
    )
