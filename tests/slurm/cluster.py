"""A real single-node SLURM cluster on this machine, for tests: munged, slurmctld and slurmd.

Needs root and apt-get (Debian's slurm-wlm and munge). A stand-in GPU on /dev/null lets
rules that ask for `gpu=1` schedule; torch then finds no CUDA and trains on the CPU.
By hand:  python -m tests.slurm.cluster up   |   python -m tests.slurm.cluster down
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PID_FILES = {
    "slurmd": Path("/run/slurmd.pid"),
    "slurmctld": Path("/run/slurmctld.pid"),
    "munged": Path("/run/munge/munged.pid"),
}
STATE = Path("/var/lib/slurm")
LOGS = Path("/var/log/slurm")


class Unavailable(RuntimeError):
    """SLURM cannot be brought up here (not root, no apt-get, install failed)."""


def _run(*command: str, check: bool = True, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, check=check, timeout=timeout)


def install() -> None:
    """slurm-wlm and munge from Debian's packages, unless already there."""
    if os.geteuid() != 0:
        raise Unavailable(
            "the SLURM test needs root to install and start munged, slurmctld and slurmd"
        )
    if shutil.which("slurmctld") and shutil.which("munged"):
        return
    if not shutil.which("apt-get"):
        raise Unavailable("the SLURM test needs apt-get (Debian's slurm-wlm and munge packages)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "slurm-wlm", "munge"]
    if subprocess.run(command, capture_output=True, env=env).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env)
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise Unavailable(
                f"apt-get could not install slurm-wlm and munge: {result.stderr[-500:]}"
            )


def _memory_mb() -> int:
    with open("/proc/meminfo") as handle:
        total_kb = int(next(line for line in handle if line.startswith("MemTotal")).split()[1])
    return max(1000, total_kb // 1024 - 2000)


def write_config(folder: Path = Path("/etc/slurm")) -> str:
    """slurm.conf and gres.conf for this host: a cpu and a gpu partition on one node."""
    host = socket.gethostname().split(".")[0]
    cpus = os.cpu_count() or 1
    folder.mkdir(parents=True, exist_ok=True)
    node = (
        f"NodeName={host} CPUs={cpus} Boards=1 SocketsPerBoard=1 CoresPerSocket={cpus} "
        f"ThreadsPerCore=1 RealMemory={_memory_mb()} Gres=gpu:1 State=UNKNOWN"
    )
    (folder / "slurm.conf").write_text(f"""ClusterName=segpipe-ci
SlurmctldHost={host}
AuthType=auth/munge
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation={STATE}/slurmctld
SlurmdSpoolDir={STATE}/slurmd
SlurmctldPidFile={PID_FILES["slurmctld"]}
SlurmdPidFile={PID_FILES["slurmd"]}
SlurmctldLogFile={LOGS}/slurmctld.log
SlurmdLogFile={LOGS}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=600
DefMemPerCPU=1000
GresTypes=gpu
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/none
{node}
PartitionName=cpu Nodes={host} Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes={host} MaxTime=INFINITE State=UP
""")
    # a count-only gres line drains the node: name a file for the stand-in GPU
    (folder / "gres.conf").write_text(f"NodeName={host} Name=gpu File=/dev/null\n")
    return host


def _pid(name: str) -> int | None:
    try:
        return int(PID_FILES[name].read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def up(timeout: float = 60) -> None:
    """Install, configure and start the daemons; wait until the node is idle."""
    install()
    write_config()
    for folder in (STATE / "slurmctld", STATE / "slurmd", LOGS):
        folder.mkdir(parents=True, exist_ok=True)
    munge_run = Path("/run/munge")
    munge_run.mkdir(parents=True, exist_ok=True)
    shutil.chown(munge_run, "munge", "munge")
    if not Path("/etc/munge/munge.key").exists():
        _run("mungekey", "--create", check=False) if shutil.which("mungekey") else _run(
            "create-munge-key", check=False
        )
    if _pid("munged") is None:
        _run(
            "runuser", "-u", "munge", "--", "/usr/sbin/munged", f"--pid-file={PID_FILES['munged']}"
        )
    if _pid("slurmctld") is None:
        _run("/usr/sbin/slurmctld", "-i")
    if _pid("slurmd") is None:
        _run("/usr/sbin/slurmd")
    deadline = time.time() + timeout
    state = ""
    while time.time() < deadline:
        state = _run("sinfo", "-h", "-N", "-o", "%t", check=False).stdout.strip()
        if state.startswith("idle") or state.startswith("mix"):
            return
        time.sleep(0.5)
    raise Unavailable(
        f"the SLURM node did not become idle within {timeout:.0f} s (state {state!r}); see {LOGS}"
    )


def down() -> None:
    """Stop slurmd, slurmctld and munged by their PIDs (never by name)."""
    for name in ("slurmd", "slurmctld", "munged"):
        pid = _pid(name)
        if pid is None:
            continue
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        for _ in range(50):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        PID_FILES[name].unlink(missing_ok=True)


def jobs() -> list[dict[str, str]]:
    """Every job slurmctld still remembers (MinJobAge keeps finished ones 10 minutes)."""
    out = _run("scontrol", "-o", "show", "job", check=False).stdout
    found = []
    for line in out.splitlines():
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        if fields.get("JobId"):
            found.append(fields)
    return found


if __name__ == "__main__":
    {"up": up, "down": down}[sys.argv[1]]()
