"""Warping a batch of one-channel patches and their labels: the labels' ids sampled as float64
(segpipe's ``geometry.warp`` since 2026-12-04) against the ranks of ``torch.unique`` sampled as
float32 (before), on the same batches and coordinates; the image's warp is in both.

    .venv/bin/python benchmarks/bench_label_warp.py [--device cuda] [--threads 1]

Prints one Markdown row per batch shape: the best of 20 times of each way, and whether both
move every label to the same place.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from stages.nn.augment import geometry

#: (patch, batch): the demo's 2D and 3D batches, and a larger 3D one
BATCHES = [((128, 128), 8), ((16, 32, 32), 4), ((32, 128, 128), 2)]


def ranks_warp(ids: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """The former way: each id's rank among the ids present, sampled in float32."""
    values, ranks = torch.unique(
        torch.cat([ids.reshape(-1), ids.new_zeros(1)]), return_inverse=True
    )
    ranks = ranks[:-1].reshape(ids.shape)[:, None].float()
    sampled = F.grid_sample(ranks, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    return values[sampled[:, 0].round().long()]


def warp_then(image: torch.Tensor, ids: torch.Tensor | None, coords: torch.Tensor, grid):
    """The image warped by segpipe, the labels by segpipe (``grid`` None) or by ranks."""
    moved = geometry.warp(image, ids if grid is None else None, None, coords, "constant")
    return moved[1] if grid is None else ranks_warp(ids, grid)


def best_ms(function, device: torch.device, repeats: int = 20) -> float:
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        function()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    generator = torch.Generator().manual_seed(0)
    print("| batch | labels as ranks of torch.unique (ms) | as float64 ids (ms) | same labels |")
    print("|---|---|---|---|")
    for shape, count in BATCHES:
        ids = torch.randint(0, 5000, (count, *shape), generator=generator).to(device)
        matrices = np.stack([geometry.affine_matrix(shape, angle=17.0 + n, zoom=1.1)
                             for n in range(count)])  # fmt: skip
        coords = geometry.affine_coordinates(matrices, shape, device)
        grid = geometry._normalised(coords, shape, "constant")
        image = torch.rand((count, 1, *shape), generator=generator).to(device)
        same = torch.equal(warp_then(image, ids, coords, grid), warp_then(image, ids, coords, None))
        before = best_ms(lambda: warp_then(image, ids, coords, grid), device)
        now = best_ms(lambda: warp_then(image, ids, coords, None), device)
        name = f"{'x'.join(map(str, shape))} x {count}"
        print(f"| {name} | {before:.2f} | {now:.2f} | {'yes' if same else 'NO'} |", flush=True)


if __name__ == "__main__":
    main()
