import platform
import subprocess
import sys

import pytest

from stages.allocator import limit_malloc_arenas

pytestmark = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="malloc arenas are glibc's"
)

#: four threads allocate at once, then glibc reports its heaps (one per arena) as XML
COUNT_ARENAS = """
import ctypes, sys, threading
from stages.allocator import limit_malloc_arenas
limited = limit_malloc_arenas() if sys.argv[1] == "limit" else None
barrier = threading.Barrier(4)
def allocate():
    kept = [bytearray(4096) for _ in range(256)]
    barrier.wait()
threads = [threading.Thread(target=allocate) for _ in range(4)]
for thread in threads: thread.start()
for thread in threads: thread.join()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
stream = libc.fopen(sys.argv[2].encode(), b"w")
libc.malloc_info(0, ctypes.c_void_p(stream))
libc.fclose(ctypes.c_void_p(stream))
print(limited, open(sys.argv[2]).read().count("<heap nr="))
"""


def count_arenas(tmp_path, mode: str, env: dict | None = None) -> tuple[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", COUNT_ARENAS, mode, str(tmp_path / f"{mode}.xml")],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    limited, heaps = done.stdout.split()
    return limited, int(heaps)


def test_one_arena_for_every_thread(tmp_path, monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert count_arenas(tmp_path, "limit") == ("True", 1)
    # without the limit the same threads spread over arenas of their own
    assert count_arenas(tmp_path, "free")[1] > 1


def test_the_users_setting_wins(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False


def test_the_command_limits_arenas(tmp_path, monkeypatch):
    """`segpipe` (its main) sets the limit before any command runs."""
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    script = COUNT_ARENAS.replace(
        'limited = limit_malloc_arenas() if sys.argv[1] == "limit" else None',
        "import stages.cli, unittest.mock\n"
        "with unittest.mock.patch.object(stages.cli, 'cli'): stages.cli.main()\n"
        "limited = 'main'",
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "main", str(tmp_path / "main.xml")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout.split() == ["main", "1"]
