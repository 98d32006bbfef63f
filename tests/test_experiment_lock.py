import json
import os
import subprocess
import sys

import pytest

from stages.experiment_lock import ExperimentInUse, acquire, lock_path, release


def test_acquire_and_release(tmp_path):
    path = acquire(tmp_path / "exp", "demo_1")
    holder = json.loads(path.read_text())
    assert holder["pid"] == os.getpid() and path == lock_path(tmp_path / "exp", "demo_1")
    assert acquire(tmp_path / "exp", "demo_1") == path  # the holder may take it again
    assert acquire(tmp_path / "exp", "demo_2") != path  # another run of the experiment
    release(tmp_path / "exp", "demo_1")
    assert not path.exists()


def test_a_live_holder_is_refused_with_one_line(tmp_path):
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from stages.experiment_lock import acquire; "
            f"acquire({str(tmp_path)!r}, 'demo_1'); print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "held"
        in_use = rf"run demo_1 is in use by another segpipe workflow \(pid {child.pid}"
        with pytest.raises(ExperimentInUse, match=in_use):
            acquire(tmp_path, "demo_1")
        release(tmp_path, "demo_1")  # not ours: left alone
        assert lock_path(tmp_path, "demo_1").exists()
    finally:
        child.kill()
        child.wait()
    # its process is gone: the lock is taken over
    assert json.loads(acquire(tmp_path, "demo_1").read_text())["pid"] == os.getpid()
