"""Peak memory of `segpipe predict` and `segpipe reconstruct` as multiples of the float32 image.

A tiny U-Net is trained for one epoch on crops of the stardist 2D sample (speed does not
matter here), then a large image tiled from the sample is predicted and blended. Each stage
runs in its own process; its memory is its peak resident set (``ru_maxrss`` of the child)
minus that of the same stage on a 64x64 image (the interpreter, torch and the model), divided
by the size of the image as float32. The hand-over file's size is given the same way.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_memory.py [--side 4096] [--shards 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

from stages.demo import read_stardist_sample
from stages.io import write_tiff

CONFIG = {
    "DATA": {
        "PATCH_SIZE": "(128, 128, 1)",
        "TEST": {"PADDING": "(16, 16)", "OVERLAP": "(0.25, 0.25)"},
        "TRAIN": {"REPLICATE": 1},
    },
    "MODEL": {"FEATURE_MAPS": [4, 8], "NORMALIZATION": "bn"},
    "TRAIN": {"EPOCHS": 1, "BATCH_SIZE": 4},
    "AUGMENTOR": {"AUG_SAMPLES": False},
}


def _segpipe(*args) -> None:
    subprocess.run(
        [sys.executable, "-m", "stages", *map(str, args)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _peak_mib(*args) -> float:
    """Peak resident set (MiB) of one segpipe command in a fresh child process."""
    code = (
        "import resource, sys; from stages.cli import cli\n"
        "try:\n    cli.main(sys.argv[1:], standalone_mode=False)\n"
        "finally:\n"
        "    print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = [x for x in done.stderr.splitlines() if x.startswith("PEAK")][-1]
    return int(line.split()[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=4096)
    parser.add_argument("--shards", type=int, default=1)
    args = parser.parse_args()
    image, labels = read_stardist_sample("stardist2d")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        config = root / "config.yaml"
        config.write_text(yaml.safe_dump(CONFIG))
        for name, (y, x) in {"a": (0, 0), "b": (256, 256)}.items():
            write_tiff(root / "raw" / f"{name}.tif", image[y : y + 128, x : x + 128])
            write_tiff(root / "label" / f"{name}.tif", labels[y : y + 128, x : x + 128])
        _segpipe("train", "--raw", root / "raw", "--label", root / "label", "--out",
                 root / "model", "--no-progress", "--config", config)  # fmt: skip
        repeats = -(-args.side // image.shape[0])
        big = np.tile(image, (repeats, repeats))[: args.side, : args.side]
        write_tiff(root / "big.tif", big)
        write_tiff(root / "small.tif", image[:64, :64])
        float32_mib = big.size * 4 / 2**20
        rows = []
        for name in ("small", "big"):
            patches = [
                root / f"{name}.shard{k}of{args.shards}.npz" for k in range(1, 1 + args.shards)
            ]
            predict = max(
                _peak_mib("predict", root / f"{name}.tif", patch, "--model", root / "model" /
                          "model.pt", "--shard", f"{k}/{args.shards}", "--config", config)
                for k, patch in enumerate(patches, start=1)
            )  # fmt: skip
            reconstruct = _peak_mib("reconstruct", *patches, "--out", root / f"{name}_ch.tif")
            handed = sum(os.path.getsize(p) for p in patches) / 2**20
            rows.append((predict, reconstruct, handed))
        (p0, r0, _), (p1, r1, handed) = rows
        print("| image | float32 (MiB) | shards | predict (x image) | reconstruct (x image) | "
              "hand-over on disk (x image) |")  # fmt: skip
        print("|---|---|---|---|---|---|")
        print(
            f"| {args.side}x{args.side} uint16 | {float32_mib:.0f} | {args.shards} | "
            f"{(p1 - p0) / float32_mib:.2f} | {(r1 - r0) / float32_mib:.2f} | "
            f"{handed / float32_mib:.2f} |"
        )


if __name__ == "__main__":
    main()
