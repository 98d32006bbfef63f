import numba

from stages.threads import kernel_threads, limit_threads


def test_limit_threads_caps_the_kernels_and_leaves_the_default_alone(monkeypatch):
    monkeypatch.setenv("NUMBA_NUM_THREADS", str(numba.config.NUMBA_NUM_THREADS))  # restored after the test
    before = numba.get_num_threads()
    try:
        limit_threads(None)
        assert kernel_threads() == before
        limit_threads(1)
        assert kernel_threads() == 1
    finally:
        numba.set_num_threads(before)
