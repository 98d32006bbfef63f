"""BiaPy 3.7.1's TEST.BY_CHUNKS on the volumes of bench_volumes.py: peak memory and wall time.

BiaPy trains its own U-Net of the same shape on the same tiled sample (its settings as in
bench_volumes.py), then segments each tiled volume, stored as Zarr, chunk by chunk
('chunk_by_chunk': prediction, per-chunk watershed and merging of instances across chunks).
One process (SYSTEM.NUM_WORKERS 0), so that its peak resident set is the job's.

    PYTHONPATH=. benchmarks/.venv-biapy/bin/python benchmarks/bench_volumes_biapy.py \
        [--sizes 64,128,128] [--workdir DIR] [--json out.json]

Needs BiaPy's full stack in that environment (setup_biapy_env.sh installs the measured
modules only; this adds bioimageio.core 0.9.6, torchinfo, torchmetrics, pytorch-msssim,
safetensors, timm 1.0.14 and xarray 2025.1 as BiaPy pins them).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import tifffile
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_volumes import BLOCK, PATCH, tiled  # noqa: E402

from stages.demo import stardist_data_folder  # noqa: E402

RUNNER = """
import sys
from biapy import BiaPy
BiaPy(sys.argv[1], result_dir=sys.argv[2], name=sys.argv[3], run_id=1).run_job()
"""


def biapy_config(train: Path, test: Path, epochs: int, training: bool) -> dict:
    padding = [2, 8, 8]
    return {
        "SYSTEM": {"NUM_CPUS": 2, "NUM_WORKERS": 0, "SEED": 0},
        "PROBLEM": {"TYPE": "INSTANCE_SEG", "NDIM": "3D",
                    "INSTANCE_SEG": {"DATA_CHANNELS": ["F", "C"]}},
        "DATA": {
            "PATCH_SIZE": [*PATCH, 1],
            "TRAIN": {"PATH": str(train / "raw"), "GT_PATH": str(train / "label"),
                      "IN_MEMORY": True},
            "VAL": {"FROM_TRAIN": True, "SPLIT_TRAIN": 0.1},
            "TEST": {"PATH": str(test), "LOAD_GT": False, "IN_MEMORY": False,
                     "PADDING": padding, "INPUT_IMG_AXES_ORDER": "ZYXC"},
        },
        "AUGMENTOR": {"ENABLE": False},
        "MODEL": {"ARCHITECTURE": "unet", "FEATURE_MAPS": [8, 16, 32], "Z_DOWN": [1, 2],
                  "NORMALIZATION": "bn", "LOAD_CHECKPOINT": not training},
        "TRAIN": {"ENABLE": training, "EPOCHS": epochs, "BATCH_SIZE": 4, "PATIENCE": -1,
                  "OPTIMIZER": "ADAMW", "LR": 2e-3},
        "TEST": {
            "ENABLE": not training,
            "BY_CHUNKS": {
                "ENABLE": True,
                "WORKFLOW_PROCESS": {
                    "ENABLE": True,
                    "TYPE": "chunk_by_chunk",
                    # tiles of about segpipe's blocks: BLOCK / core size patches per axis
                    "PATCHES_PER_TILE": [max(1, b // (p - 2 * q))
                                         for b, p, q in zip(BLOCK, PATCH, padding)],
                },
            },
        },
    }  # fmt: skip


def timed(command: list[str], log: Path) -> tuple[float, float, int]:
    report = log.with_suffix(".time")
    started = time.perf_counter()
    with open(log, "w") as out:
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(report), *command],
                              stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    return (
        int(report.read_text().split()[-1]) / 1024.0,
        time.perf_counter() - started,
        (done.returncode),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["64,128,128"])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/segpipe-bench-biapy"))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir
    folder = stardist_data_folder()
    image, labels = tifffile.imread(folder / "img3d.tif"), tifffile.imread(folder / "mask3d.tif")
    train = work / "train"
    for split in ("raw", "label"):
        (train / split).mkdir(parents=True, exist_ok=True)
    raw, truth = tiled(image, labels, (62, 122, 114))
    tifffile.imwrite(train / "raw" / "n.tif", raw)
    tifffile.imwrite(train / "label" / "n.tif", truth.astype(np.uint16))
    runner = work / "run_biapy.py"
    runner.write_text(RUNNER)
    checkpoint = work / "results" / "train" / "checkpoints"
    if not list(checkpoint.glob("*.pth")):
        config = work / "train.yaml"
        config.write_text(yaml.safe_dump(biapy_config(train, work, args.epochs, True)))
        command = [sys.executable, str(runner), str(config), str(work / "results"), "train"]
        peak, seconds, code = timed(command, work / "train.log")
        if code:
            sys.exit(f"BiaPy training failed: see {work / 'train.log'}")
    model = sorted(checkpoint.glob("*.pth"))[-1]
    rows = []
    for size in args.sizes:
        shape = tuple(int(v) for v in size.split(","))
        name = "x".join(map(str, shape))
        test = work / name / "test"
        test.mkdir(parents=True, exist_ok=True)
        import zarr

        raw, truth = tiled(image, labels, shape)
        stored = zarr.create_array(
            str(test / "volume.zarr"), shape=(*shape, 1), dtype=raw.dtype,
            chunks=(32, 128, 128, 1), overwrite=True, zarr_format=2,
        )  # fmt: skip
        stored[...] = raw[..., np.newaxis]
        config = biapy_config(train, test, args.epochs, False)
        config["PATHS"] = {"CHECKPOINT_FILE": str(model)}
        path = work / name / "test.yaml"
        path.write_text(yaml.safe_dump(config))
        command = [sys.executable, str(runner), str(path), str(work / "results"), name]
        peak, seconds, code = timed(command, work / name / "test.log")
        row = {"shape": list(shape), "peak_mib": round(peak, 1), "seconds": round(seconds, 2),
               "returncode": code}  # fmt: skip
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"model": str(model), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
