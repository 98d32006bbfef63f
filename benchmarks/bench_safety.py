"""Time and peak memory of the stages on hostile sizes: ids near 2**31 and 131,072 instances.

    .venv/bin/python benchmarks/bench_safety.py

Each case runs in a fresh process; its peak memory is the growth of the process's maximum
resident set over what it held after loading its inputs. Ids near 2**31 are compared with the
same instances under small ids, on the same labels in one run: the ratio should be near 1
(memory and time follow the instance count, not the id values). The matching case is 131,072
3x3 instances against the same squares moved by one pixel; a dense overlap matrix of that
size would need 131,072**2 * 8 bytes = 137 GB.
"""

from __future__ import annotations

import multiprocessing
import resource
import time

import numpy as np


def _tiled_mask(tiles: int) -> np.ndarray:
    import tifffile

    from stages.demo import stardist_data_folder

    mask = tifffile.imread(stardist_data_folder() / "mask2d.tif").astype(np.uint32)
    rows = []
    offset = 0
    for _ in range(tiles):
        row = []
        for _ in range(tiles):
            row.append(np.where(mask > 0, mask + offset, 0))
            offset += int(mask.max())
        rows.append(np.concatenate(row, axis=1))
    return np.concatenate(rows, axis=0)


def _huge(labels: np.ndarray) -> np.ndarray:
    ids = np.unique(labels)[1:]
    table = np.zeros(int(labels.max()) + 1, np.uint32)
    table[ids] = 2**31 - 7 * len(ids) + 7 * np.arange(len(ids), dtype=np.uint32)
    return table[labels]


def _case(name: str, huge: bool, queue) -> None:
    labels = _tiled_mask(2)
    if huge:
        labels = _huge(labels)
    if name == "match":
        grid = np.arange(1, 512 * 256 + 1, dtype=np.uint32).reshape(512, 256)
        labels = np.zeros((2048, 1024), np.uint32)
        for dy in range(3):
            for dx in range(3):
                labels[dy::4, dx::4] = grid
        moved = np.roll(labels, 1, axis=1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if name == "encode F,C,Db":
        from stages.channels import encode_channels

        encode_channels(labels, ["F", "C", "Db"])
    elif name == "measure":
        from stages.measure import measure_instances

        measure_instances(labels)
    elif name == "refine":
        from stages.refine import refine_instances

        refine_instances(labels, ["fill_holes", "remove_small_objects"], ["none", 30])
    else:
        from stages.metrics import match_instances

        match_instances(labels, moved, [0.3, 0.5])
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    queue.put((seconds, peak / 1024))


def run(name: str, huge: bool) -> tuple[float, float]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_case, args=(name, huge, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    print("| stage (1024x1024, 500 nuclei) | small ids: s, MB | ids near 2**31: s, MB | ratio |")
    print("|---|---|---|---|")
    for name in ("encode F,C,Db", "measure", "refine"):
        run(name, False)  # warm the compiled kernels' cache
        small, huge = run(name, False), run(name, True)
        print(
            f"| {name} | {small[0]:.2f}, {small[1]:.0f} | {huge[0]:.2f}, {huge[1]:.0f} | "
            f"{huge[0] / small[0]:.2f}x time, {huge[1] / max(small[1], 1):.2f}x memory |"
        )
    seconds, megabytes = run("match", False)
    print(f"\nmatch 131,072 instances at IoU 0.3 and 0.5: {seconds:.2f} s, {megabytes:.0f} MB peak")


if __name__ == "__main__":
    main()
