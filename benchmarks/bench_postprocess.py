"""Post-processing steps against BiaPy 3.7.1's on the same labels, in one process.

    bash benchmarks/setup_biapy_env.sh            # once: BiaPy beside segpipe (--no-deps)
    benchmarks/.venv-biapy/bin/python benchmarks/bench_postprocess.py

Labels: stardist's real 2D mask tiled 2x2 (1024x1024, 500 nuclei) where every nucleus
larger than the median is split (its centre given another id, as an extra seed does) and
pierced (a background ring around that centre): what REPARE_LARGE_BLOBS_SIZE is for. The
channels for the median filter are its F and C encodings in 3D (the 3D mask tiled 2x4x4).
Each time is the best of three; "equal" says whether both give the same labels or channels.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import tifffile
from scipy import ndimage as ndi


def best_of(function, repeats: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def tiled(mask: np.ndarray, reps: tuple[int, ...]) -> np.ndarray:
    """``mask`` repeated ``reps`` times per axis, each copy with its own ids."""
    out = np.zeros(tuple(s * r for s, r in zip(mask.shape, reps)), np.uint32)
    offset = 0
    for index in np.ndindex(*reps):
        box = tuple(slice(i * s, (i + 1) * s) for i, s in zip(index, mask.shape))
        out[box] = np.where(mask > 0, mask.astype(np.uint32) + offset, 0)
        offset += int(mask.max())
    return out


def split_and_pierced(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Every nucleus above the median size split at its centre and pierced around it."""
    out = labels.copy()
    sizes = np.bincount(labels.ravel())
    present = np.flatnonzero(sizes)[1:]
    median = int(np.median(sizes[present]))
    next_id = int(labels.max()) + 1
    for label_id, box in enumerate(ndi.find_objects(labels), start=1):
        if box is None or sizes[label_id] <= median:
            continue
        mask = labels[box] == label_id
        inner = ndi.binary_erosion(mask, iterations=3)
        if not inner.any():
            continue
        centre = np.round(np.argwhere(inner).mean(axis=0)).astype(int)
        distance = np.sqrt(sum((c - p) ** 2 for c, p in zip(np.indices(mask.shape), centre)))
        region = out[box]
        region[(distance <= 2) & mask] = next_id
        region[(distance > 3) & (distance <= 4) & inner] = 0
        next_id += 1
    return out, median


def main() -> int:
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_stages import load_biapy

    load_biapy()  # BiaPy's modules without its package __init__
    from biapy.data.post_processing.post_processing import (
        apply_median_filtering,
        measure_morphological_props_and_filter,
        repare_large_blobs,
    )

    from stages.channels import encode_channels
    from stages.demo import stardist_data_folder
    from stages.measure import measure_instances
    from stages.postprocess import (
        Condition,
        median_filter_channels,
        remove_by_properties,
        repair_large_blobs,
    )

    folder = stardist_data_folder()
    labels2d = tiled(tifffile.imread(folder / "mask2d.tif"), (2, 2))
    broken, median = split_and_pierced(labels2d)
    rows = []

    ours_t, ours = best_of(lambda: repair_large_blobs(broken, median))
    # BiaPy adds a bool-times-id int64 patch in place: its labels must be int64 to run at all
    theirs_t, theirs = best_of(
        lambda: repare_large_blobs(broken.astype(np.int64), median), repeats=1
    )
    rows.append(
        ("repair large blobs, 2D 1024x1024", ours_t, theirs_t, np.array_equal(ours, theirs))
    )
    ids = np.unique(labels2d)[1:]
    restored = sum(np.array_equal(ours == i, labels2d == i) for i in ids)
    intact = sum(np.array_equal(broken == i, labels2d == i) for i in ids)

    def biapy_filter():
        return measure_morphological_props_and_filter(
            labels2d.copy(),
            intensity_image=labels2d.astype(np.float32),  # 3.7.1 asks for one; unused here
            resolution=[1, 1, 1],
            filter_instances=True,
            properties=[["npixels"]],
            prop_values=[[200]],
            comp_signs=[["lt"]],
        )[0]

    def segpipe_filter():
        table = measure_instances(labels2d)
        return remove_by_properties(labels2d, table, [[Condition("npixels", "lt", 200)]])[0]

    ours_t, ours = best_of(segpipe_filter)
    theirs_t, theirs = best_of(biapy_filter, repeats=1)
    rows.append(
        ("measure + remove by properties, 2D", ours_t, theirs_t, np.array_equal(ours, theirs))
    )

    labels3d = tiled(tifffile.imread(folder / "mask3d.tif"), (2, 4, 4))
    channels = encode_channels(labels3d, ["F", "C"])
    ours_t, ours = best_of(lambda: median_filter_channels(channels, [("z", 5)]))
    channel_last = np.moveaxis(channels, 0, -1)[np.newaxis].copy()
    theirs_t, theirs = best_of(lambda: apply_median_filtering(channel_last.copy(), "z", 5))
    same = np.array_equal(ours, np.moveaxis(theirs[0], -1, 0))
    rows.append((f"median filter z 5, 3D {labels3d.shape}", ours_t, theirs_t, same))

    print("| step | segpipe s | BiaPy 3.7.1 s | BiaPy / segpipe | same output |")
    print("|---|---|---|---|---|")
    for name, ours_t, theirs_t, same in rows:
        print(f"| {name} | {ours_t:.3f} | {theirs_t:.3f} | {theirs_t / ours_t:.1f}x | {same} |")
    print(
        f"nuclei identical to the unbroken labels: {intact} of {len(ids)} broken, "
        f"{restored} after segpipe's repair"
    )
    out = Path(__file__).parent / "results" / f"postprocess_{time.strftime('%Y-%m-%d')}.json"
    out.write_text(
        json.dumps(
            [dict(zip(("step", "segpipe_s", "biapy_s", "same"), map(str, r))) for r in rows],
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
