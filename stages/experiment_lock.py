"""One workflow at a time per run of an experiment, across working directories and hosts.

Snakemake locks its working directory; two workflows started from different directories with
the same RUN.RESULT_DIR, RUN.NAME and RUN.ID would still write into one run's folders (the
same checkpoints). The workflow takes this lock when its jobs start and gives it back when
they end. Runs of other ids in the same experiment go on side by side.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path


def lock_path(folder: str | Path, run: str) -> Path:
    """The lock file of run ``run`` (``<NAME>_<ID>``) in experiment ``folder``."""
    return Path(folder) / f".segpipe-lock-{run}"


class ExperimentInUse(RuntimeError):
    """Another run holds the experiment folder; the message says which and what to do."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _holder(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def acquire(folder: str | Path, run: str, *, workdir: str | Path = ".") -> Path:
    """Take the lock of run ``run`` of ``folder``; raise ExperimentInUse when another holds it.

    A lock left by a process that is gone (same host) is taken over.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = lock_path(folder, run)
    me = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "workdir": str(Path(workdir).resolve()),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    for _ in range(2):
        try:
            handle = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            holder = _holder(path)
            same_host = holder.get("host") == me["host"]
            if same_host and holder.get("pid") == me["pid"]:
                return path
            if same_host and isinstance(holder.get("pid"), int) and not _alive(holder["pid"]):
                path.unlink(missing_ok=True)  # its run was killed
                continue
            raise ExperimentInUse(
                f"{folder} run {run} is in use by another segpipe workflow "
                f"(pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started "
                f"{holder.get('started', '?')} in {holder.get('workdir', '?')}); wait for it "
                "to end or, if no run is active, "
                f"remove {path}"
            ) from None
        with os.fdopen(handle, "w") as stream:
            json.dump(me, stream)
        return path
    raise ExperimentInUse(f"{folder}: could not take {path}; remove it if no run is active")


def release(folder: str | Path, run: str) -> None:
    """Give back the lock of run ``run`` of ``folder`` if this process holds it."""
    path = lock_path(folder, run)
    holder = _holder(path)
    if holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
        path.unlink(missing_ok=True)
