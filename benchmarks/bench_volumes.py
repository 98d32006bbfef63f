"""Peak memory and wall time of each block-wise stage as a volume grows 8x, twice.

Synthetic nuclei volumes are tiled from the real 3D sample (stardist's img3d/mask3d, each
copy mirrored, a nucleus cut by the sample's face joined with its mirror image) and stored
as Zarr. A small 3D network is trained on the
real sample first; then, per size, the stages a TEST.BY_CHUNKS run goes through are run as
the workflow runs them, each its own process under /usr/bin/time: plan-blocks, every
predict-blocks group, decode (channels Zarr -> labels Zarr, block by block), measure (by
blocks) and evaluate (against the tiled ground truth). Peak RSS is the process's maximum
resident set; a stage of several jobs reports its largest job and the summed time. A small
volume goes first, unreported, so that no figure holds the one-off compilation of numba's
kernels.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_volumes.py [--sizes 64,128,128 ...]
        [--workdir DIR] [--json out.json] [--jobs-only N]

``--jobs-only N``: per size, the plan and N prediction jobs from the middle of the volume
only (the peak of a job on a volume too long to predict whole on this machine).

``--from-truth [--only decode decode_jobs median_filter refine repair_large_blobs
filter_by_properties measure evaluate]``: no network; channels encoded from the tiled truth;
the post-processing stages block by block. ``decode_jobs``
decodes as the workflow does with TEST.BY_CHUNKS (plan-decode, the decode-blocks groups as
parallel jobs, one per CPU, merge-blocks) and checks the labels equal to those of ``decode``
in one job.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import tifffile
import yaml

from stages.demo import stardist_data_folder

DEFAULT_SIZES = ["64,128,128", "128,256,256", "256,512,512"]
BLOCK = [32, 128, 128]
HALO = [16, 48, 48]
PATCH = [16, 64, 64]
#: --from-truth: blocks small enough that the smallest volume has blocks with a whole halo on
#: every side (three blocks per axis), so that every size decodes regions of the same size
TRUTH_BLOCK = [32, 96, 96]
TRUTH_SIZES = ["96,288,288", "192,576,576", "384,1152,1152"]


def tiled(image: np.ndarray, labels: np.ndarray, shape) -> tuple[np.ndarray, np.ndarray]:
    """``shape`` filled with mirrored copies of the sample. A nucleus cut by the sample's face
    meets its mirror image there: the two halves are one nucleus and get one id (the
    connected parts of each original id), every other copy its own."""
    from skimage.measure import label

    tile = image.shape
    grid = [-(-s // t) for s, t in zip(shape, tile)]
    raw = np.zeros(shape, image.dtype)
    ids = np.zeros(shape, np.uint32)
    for cell in np.ndindex(*grid):
        flips = tuple(slice(None, None, -1) if c % 2 else slice(None) for c in cell)
        box = tuple(slice(c * t, min((c + 1) * t, s)) for c, t, s in zip(cell, tile, shape))
        part = tuple(slice(0, b.stop - b.start) for b in box)
        raw[box] = image[flips][part]
        ids[box] = labels[flips][part]
    return raw, label(ids, background=0, connectivity=1).astype(np.uint32)


def write_zarr(path: Path, array: np.ndarray, chunks) -> None:
    import zarr

    stored = zarr.create_array(str(path), shape=array.shape, dtype=array.dtype,
                               chunks=chunks, overwrite=True)  # fmt: skip
    stored[...] = array
    stored.attrs["axes"] = "ZYX"


def timed(command: list[str], log: Path) -> tuple[float, float]:
    """(peak RSS in MiB, wall seconds) of one command run to completion."""
    report = log.with_suffix(".time")
    started = time.perf_counter()
    with open(log, "w") as out:
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(report), *command],
                              stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"failed: {' '.join(command)} (see {log})")
    return int(report.read_text().split()[-1]) / 1024.0, seconds


def train_model(workdir: Path, config_path: Path) -> Path:
    data = workdir / "sample"
    model = workdir / "model" / "model.pt"
    if model.exists():
        return model
    folder = stardist_data_folder()
    for split in ("raw", "label"):
        (data / split).mkdir(parents=True, exist_ok=True)
    # the sample mirrored 2x2x2: room for patches and a held-out validation share
    raw, labels = tiled(tifffile.imread(folder / "img3d.tif"),
                        tifffile.imread(folder / "mask3d.tif"), (62, 122, 114))  # fmt: skip
    tifffile.imwrite(data / "raw" / "n.tif", raw)
    tifffile.imwrite(data / "label" / "n.tif", labels.astype(np.uint16))
    segpipe = [sys.executable, "-m", "stages"]
    subprocess.run([*segpipe, "encode", data / "label" / "n.tif", data / "channels" / "n.tif",
                    "--config", config_path], check=True)  # fmt: skip
    subprocess.run([*segpipe, "train", "--raw", data / "raw", "--label", data / "label",
                    "--channels", data / "channels", "--out", model.parent, "--no-progress",
                    "--config", config_path], check=True)  # fmt: skip
    return model


def run_size(
    workdir: Path, shape, model: Path, config_path: Path, image, labels, groups: int = 0
) -> dict:
    """Every stage on a volume of ``shape``; ``groups`` > 0: plan and that many prediction
    jobs only (a job's peak memory on a volume too long to predict whole here)."""
    name = "x".join(map(str, shape))
    folder = workdir / name
    folder.mkdir(parents=True, exist_ok=True)
    raw, truth = tiled(image, labels, shape)
    write_zarr(folder / "raw.zarr", raw, (32, 128, 128))
    write_zarr(folder / "truth.zarr", truth, (32, 128, 128))
    objects = len(np.unique(truth)) - 1
    del raw, truth
    segpipe = [sys.executable, "-m", "stages"]
    logs = folder / "logs"
    logs.mkdir(exist_ok=True)
    channels, plan = folder / "channels.zarr", folder / "plan.json"
    stages = {}
    stages["plan-blocks"] = timed([*segpipe, "plan-blocks", str(folder / "raw.zarr"),
                                   str(channels), str(plan), "--model", str(model),
                                   "--config", str(config_path)], logs / "plan.log")  # fmt: skip
    planned = len(json.loads(plan.read_text())["groups"])
    peaks, total = [], 0.0
    # with --jobs-only, jobs from the middle of the volume (blocks with context on every side)
    chosen = range(1, planned + 1)
    if groups:
        first = max(1, planned // 2 + 1 - groups // 2)
        chosen = range(first, min(first + groups, planned + 1))
    for group in chosen:
        peak, seconds = timed([*segpipe, "predict-blocks", str(plan), "--model", str(model),
                               "--group", str(group), "--threads", "2"],
                              logs / f"predict{group}.log")  # fmt: skip
        peaks.append(peak)
        total += seconds
    stages["predict-blocks"] = (max(peaks), total)
    if groups:
        return {
            "shape": list(shape),
            "voxels": int(np.prod(shape)),
            "blocks": len(json.loads(plan.read_text())["blocks"]),
            "jobs": planned,
            "jobs_run": len(peaks),
            "stages": {
                k: {"peak_mib": round(p, 1), "seconds": round(t, 2)} for k, (p, t) in stages.items()
            },  # fmt: skip
        }
    stages.update(after_prediction(folder, channels, config_path))
    import pandas as pd

    metrics = pd.read_csv(folder / "metrics.csv")
    f1 = [c for c in metrics.columns if c == "0.5 TH f1"]
    return {
        "shape": list(shape),
        "voxels": int(np.prod(shape)),
        "float32_mib": float(np.prod(shape)) * 4 / 2**20,
        "objects": objects,
        "blocks": len(json.loads(plan.read_text())["blocks"]),
        "jobs": planned,
        "f1_at_0.5": float(metrics[f1[0]].iloc[0]) if f1 else None,
        "stages": {
            k: {"peak_mib": round(p, 1), "seconds": round(s, 2)} for k, (p, s) in stages.items()
        },  # fmt: skip
    }


AFTER_PREDICTION = ("decode", "measure", "evaluate")
#: stages that --only may name besides those: decoding by parallel jobs as the workflow does
#: (plan-decode, decode-blocks per group, DECODE_WORKERS at a time, merge-blocks)
OPTIONAL = (
    "decode_jobs",
    "median_filter",
    "refine",
    "repair_large_blobs",
    "filter_by_properties",
)
#: the refinement benchmarked: a local operation, hole filling with the halo, a removal by
#: size and clear_border (each a pass of its own over the blocks)
REFINE = ("erosion,fill_holes,remove_small_objects,clear_border", "1,none,50,none")
DECODE_WORKERS = os.cpu_count() or 1


def decode_in_jobs(folder: Path, channels: Path, config_path: Path) -> dict:
    """plan-decode, every decode-blocks group (DECODE_WORKERS at a time) and merge-blocks of a
    channels Zarr; the labels checked equal to those of decode in one job when it ran. A stage
    of several jobs reports its largest job's peak and the wall time of all of them."""
    from concurrent.futures import ThreadPoolExecutor

    segpipe = [sys.executable, "-m", "stages"]
    logs, plan = folder / "logs", folder / "decode.json"
    stages = {"plan_decode": timed([*segpipe, "plan-decode", str(channels), str(plan), "--config",
                                    str(config_path)], logs / "plan_decode.log")}  # fmt: skip
    groups = range(1, len(json.loads(plan.read_text())["groups"]) + 1)
    parts = [folder / "parts" / f"labels{g}.zarr" for g in groups]

    def job(group: int) -> tuple[float, float]:
        # one thread a job, as the workflow's decode_blocks rule runs them
        command = [*segpipe, "decode-blocks", str(plan), str(parts[group - 1]), "--group",
                   str(group), "--threads", "1"]  # fmt: skip
        return timed(command, logs / f"decode_blocks{group}.log")

    started = time.perf_counter()
    with ThreadPoolExecutor(DECODE_WORKERS) as pool:
        jobs = list(pool.map(job, groups))
    stages[f"decode_blocks ({len(jobs)} jobs, {DECODE_WORKERS} at a time)"] = (
        max(peak for peak, _ in jobs), time.perf_counter() - started)  # fmt: skip
    merged = folder / "labels-jobs.zarr"
    stages["merge_blocks"] = timed([*segpipe, "merge-blocks", str(plan), str(merged),
                                    *map(str, parts)], logs / "merge_blocks.log")  # fmt: skip
    if (folder / "labels.zarr").exists():
        import zarr

        from stages.decode.blocks import block_boxes

        one, jobs_labels = (zarr.open_array(str(p), mode="r") for p in (folder / "labels.zarr",
                                                                       merged))  # fmt: skip
        for box in block_boxes(one.shape, (64, 512, 512)):
            if not np.array_equal(one[box], jobs_labels[box]):
                sys.exit(f"{merged} differs from {folder / 'labels.zarr'} in {box}")
    return stages


def after_prediction(
    folder: Path, channels: Path, config_path: Path, only: tuple = AFTER_PREDICTION
) -> dict:
    """decode, measure and evaluate (with the channel IoUs) of a volume's channels Zarr; those
    of ``only``, the others' outputs taken as they are."""
    segpipe = [sys.executable, "-m", "stages"]
    logs = folder / "logs"
    stages = {}
    if "decode" in only:
        stages["decode"] = timed([*segpipe, "decode", str(channels), str(folder / "labels.zarr"),
                                  "--config", str(config_path)], logs / "decode.log")  # fmt: skip
    if "measure" in only:
        stages["measure"] = timed([*segpipe, "measure", str(folder / "labels.zarr"),
                                   str(folder / "stats.csv")], logs / "measure.log")  # fmt: skip
    if "decode_jobs" in only:
        stages.update(decode_in_jobs(folder, channels, config_path))
    if "median_filter" in only:
        stages["median_filter"] = timed([*segpipe, "median-filter", str(channels),
                                         str(folder / "median.zarr"), "--filter", "z:3",
                                         "--filter", "xy:5"], logs / "median.log")  # fmt: skip
    if "refine" in only:
        stages["refine"] = timed([*segpipe, "refine", str(folder / "labels.zarr"),
                                  str(folder / "refined.zarr"), "--operations", REFINE[0],
                                  "--values", REFINE[1], "--config", str(config_path)],
                                 logs / "refine.log")  # fmt: skip
    if "repair_large_blobs" in only:
        # instances of at least 2000 voxels (a third of the tiled nuclei) repaired
        stages["repair_large_blobs"] = timed([*segpipe, "repair-large-blobs",
                                              str(folder / "labels.zarr"),
                                              str(folder / "repaired.zarr"), "--min-size", "2000"],
                                             logs / "repair.log")  # fmt: skip
    if "filter_by_properties" in only:
        stages["filter_by_properties"] = timed(
            [*segpipe, "filter-by-properties", str(folder / "labels.zarr"),
             str(folder / "filtered.zarr"), "--condition", "npixels lt 2000",
             "--condition", "sphericity lt 0.6, npixels lt 6000",
             "--all-stats", str(folder / "filter_all.csv")],
            logs / "filter.log")  # fmt: skip
    if "evaluate" not in only:
        return stages
    stages["evaluate"] = timed([*segpipe, "evaluate", "--pred", str(folder / "labels.zarr"),
                                "--gt", str(folder / "truth.zarr"), "--channels", str(channels),
                                "--in-order", "--out", str(folder / "metrics.csv"), "--ndim", "3D",
                                "--config", str(config_path)],
                               logs / "evaluate.log")  # fmt: skip
    return stages


def channels_from_truth(path: Path, truth: np.ndarray, block, halo) -> None:
    """A channels Zarr as predict-blocks writes it, of F and C encoded from the truth block by
    block (each with ``halo`` of context): the input of decode without a network."""
    from stages.channels import encode_channels
    from stages.containers import create_channel_store
    from stages.decode.blocks import block_boxes

    shape = truth.shape
    metadata = {"channels": ["F", "C"], "channel_options": {}, "axes": "CZYX", "block": list(block)}
    store = create_channel_store(path, (2, *shape), block, metadata)
    for box in block_boxes(shape, block):
        grown = tuple(slice(max(b.start - h, 0), min(b.stop + h, s))
                      for b, h, s in zip(box, halo, shape))  # fmt: skip
        inner = tuple(slice(b.start - g.start, b.stop - g.start) for b, g in zip(box, grown))
        encoded = encode_channels(truth[grown], ["F", "C"])
        store[(slice(None), *box)] = encoded[(slice(None), *inner)]


def run_from_truth(
    workdir: Path, shape, config_path: Path, image, labels, only: tuple = AFTER_PREDICTION
) -> dict:
    """decode, measure and evaluate of a volume whose channels are encoded from its truth (no
    prediction): the stages after prediction on volumes too long to predict here. With
    ``only`` a subset, the volume's folder of an earlier run is used as it is."""
    name = "truth-" + "x".join(map(str, shape))
    folder = workdir / name
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    objects = None
    if tuple(only) == AFTER_PREDICTION or not (folder / "channels.zarr").exists():
        _, truth = tiled(image, labels, shape)
        write_zarr(folder / "truth.zarr", truth, TRUTH_BLOCK)
        channels_from_truth(folder / "channels.zarr", truth, TRUTH_BLOCK, HALO)
        objects = len(np.unique(truth)) - 1
        del truth
    if not (folder / "labels.zarr").exists():
        only = ("decode", *only)  # measure and evaluate read what decode wrote
    stages = after_prediction(folder, folder / "channels.zarr", config_path, tuple(only))
    import pandas as pd

    metrics = folder / "metrics.csv"
    return {
        "shape": list(shape),
        "voxels": int(np.prod(shape)),
        "objects": objects,
        "f1_at_0.5": float(pd.read_csv(metrics)["0.5 TH f1"].iloc[0]) if metrics.exists() else None,
        "stages": {
            k: {"peak_mib": round(p, 1), "seconds": round(s, 2)} for k, (p, s) in stages.items()
        },  # fmt: skip
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=DEFAULT_SIZES)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/segpipe-bench-volumes"))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--jobs-only", type=int, default=0,
        help="plan and run this many prediction jobs per size, nothing else",
    )  # fmt: skip
    parser.add_argument(
        "--only", nargs="+", choices=AFTER_PREDICTION + OPTIONAL, default=list(AFTER_PREDICTION),
        help="--from-truth: run these stages only, on the volumes of an earlier run",
    )  # fmt: skip
    parser.add_argument(
        "--from-truth", action="store_true",
        help=f"no network: channels encoded from the truth, then decode, measure and evaluate "
        f"(blocks of {TRUTH_BLOCK}; sizes default to {TRUTH_SIZES})",
    )  # fmt: skip
    args = parser.parse_args()
    if args.from_truth:
        return main_from_truth(args)
    args.workdir.mkdir(parents=True, exist_ok=True)
    config = {
        "PROBLEM": {"NDIM": "3D", "INSTANCE_SEG": {"DATA_CHANNELS": ["F", "C"]}},
        "DATA": {"PATCH_SIZE": [*PATCH, 1], "TEST": {"PADDING": [2, 8, 8],
                                                     "OVERLAP": [0.0, 0.0, 0.0]},
                 "TRAIN": {"REPLICATE": 4}},
        "MODEL": {"FEATURE_MAPS": [8, 16, 32], "NORMALIZATION": "bn", "Z_DOWN": [1, 2]},
        "TRAIN": {"EPOCHS": args.epochs, "BATCH_SIZE": 4, "LR": 2e-3},
        "TEST": {"BY_CHUNKS": {"ENABLE": True, "BLOCK_SIZE": BLOCK, "HALO": HALO,
                               "BLOCKS_PER_JOB": 8}},
    }  # fmt: skip
    config_path = args.workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    model = train_model(args.workdir, config_path)
    folder = stardist_data_folder()
    image = tifffile.imread(folder / "img3d.tif")
    labels = tifffile.imread(folder / "mask3d.tif")
    # a first small volume, not reported: the decoders' numba kernels compile into their cache
    if not args.jobs_only:
        run_size(args.workdir, (32, 64, 64), model, config_path, image, labels)
    rows = []
    for size in args.sizes:
        shape = tuple(int(v) for v in size.split(","))
        row = run_size(args.workdir, shape, model, config_path, image, labels, args.jobs_only)
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {
        "date": date.today().isoformat(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s)",
        "block": BLOCK,
        "halo": HALO,
        "patch": PATCH,
        "rows": rows,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    stages = list(rows[0]["stages"])
    if args.jobs_only:
        return
    print("\n| stage | " + " | ".join("x".join(map(str, r["shape"])) for r in rows) + " |")
    print("|---|" + "---|" * len(rows))
    for stage in stages:
        cells = [f"{r['stages'][stage]['peak_mib']:.0f} MiB, {r['stages'][stage]['seconds']:.1f} s"
                 for r in rows]  # fmt: skip
        print(f"| {stage} | " + " | ".join(cells) + " |")


def main_from_truth(args) -> None:
    args.workdir.mkdir(parents=True, exist_ok=True)
    sizes = args.sizes if args.sizes != DEFAULT_SIZES else TRUTH_SIZES
    config = {
        "PROBLEM": {"NDIM": "3D", "INSTANCE_SEG": {"DATA_CHANNELS": ["F", "C"]}},
        "DATA": {"PATCH_SIZE": [*PATCH, 1]},
        "TEST": {"BY_CHUNKS": {"ENABLE": True, "BLOCK_SIZE": TRUTH_BLOCK, "HALO": HALO}},
    }
    config_path = args.workdir / "config-truth.yaml"
    config_path.write_text(yaml.safe_dump(config))
    folder = stardist_data_folder()
    image = tifffile.imread(folder / "img3d.tif")
    labels = tifffile.imread(folder / "mask3d.tif")
    run_from_truth(args.workdir, (32, 64, 64), config_path, image, labels)  # numba's cache
    rows = []
    for size in sizes:
        row = run_from_truth(args.workdir, tuple(int(v) for v in size.split(",")), config_path,
                             image, labels, tuple(args.only))  # fmt: skip
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps({
            "date": date.today().isoformat(),
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s)",
            "block": TRUTH_BLOCK, "halo": HALO, "rows": rows}, indent=2))  # fmt: skip
    print("\n| stage | " + " | ".join("x".join(map(str, r["shape"])) for r in rows) + " |")
    print("|---|" + "---|" * len(rows))
    for stage in dict.fromkeys(s.split(" (")[0] for r in rows for s in r["stages"]):
        cells = []
        for row in rows:  # a stage of several jobs is named with its job count per size
            named = [s for s in row["stages"] if s.split(" (")[0] == stage]
            if not named:  # not run at this size (its output was already there)
                cells.append("")
                continue
            found = row["stages"][named[0]]
            name = named[0]
            jobs = name[len(stage) :]
            cells.append(f"{found['peak_mib']:.0f} MiB, {found['seconds']:.1f} s{jobs}")
        print(f"| {stage} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
