"""R, A and E encoders and the StarDist/EmbedSeg decoders against BiaPy 3.7.1 and stardist, in one
run.

    benchmarks/.venv-biapy/bin/python benchmarks/bench_decoders.py [--repeats 1] [--json out.json]

Inputs: mask2d (512x512, 125 nuclei), mask3d (31x61x57, 51) and a 128x256x256 volume cut
from 5x5x5 relabelled copies of mask3d (~3,900 nuclei). The StarDist predictions are the
ground truth's Db and R with noise (so no two candidates tie), the same arrays for every
peer; on the big volume only voxels of a 2x2x2 grid with probability >= 0.7 are candidates. Times
are the best of ``--repeats`` after a warm-up; memory is the peak of
Python-tracked allocations (numba kernels allocate through numpy, so they are counted).
Ratios > 1 mean segpipe is faster or lighter.
"""

from __future__ import annotations

import argparse

import numpy as np
import tifffile
from bench_stages import Comparisons, load_biapy, tiled_volume

from stages.channels import encode_channels
from stages.channels.rays import make_rays
from stages.decode.stardist import star_nms
from stages.demo import stardist_data_folder


def noisy_prediction(
    labels: np.ndarray, nrays: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    channels = encode_channels(labels, ["Db", "R"], {"R": {"nrays": nrays}})
    inside = labels > 0
    probability = (0.9 * channels[0] + rng.uniform(0, 0.05, labels.shape) * inside).astype(
        np.float32
    )
    rays = np.maximum(channels[1:] + rng.normal(0, 0.5, channels[1:].shape) * inside, 0.01).astype(
        np.float32
    )
    return probability, rays


def _on_one_thread(function, *args):
    import numba

    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return function(*args)
    finally:
        numba.set_num_threads(threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", default=None)
    parser.add_argument(
        "--skip-big-stardist",
        action="store_true",
        help="Leave out stardist/BiaPy NMS on the big volume (minutes).",
    )
    parser.add_argument(
        "--skip-big-biapy-nms",
        action="store_true",
        help="Leave out BiaPy's NMS on the big volume only (its first call had not ended after "
        "19 minutes).",
    )
    parser.add_argument(
        "--task",
        action="append",
        default=None,
        help="Run only the rows whose task contains this text (repeatable), e.g. 'encode A'.",
    )
    args = parser.parse_args()
    labels_into_channels, _, _ = load_biapy()
    from biapy.data.post_processing.polygon_nms import stardist_instances_from_prediction
    from stardist.geometry import polygons_to_label, polyhedron_to_label
    from stardist.nms import non_maximum_suppression, non_maximum_suppression_3d
    from stardist.rays3d import Rays_GoldenSpiral

    folder = stardist_data_folder()
    mask2d = tifffile.imread(folder / "mask2d.tif").astype(np.uint32)
    mask3d = tifffile.imread(folder / "mask3d.tif").astype(np.uint32)
    big = tiled_volume(mask3d, (5, 5, 5))[:128, :256, :256]
    big = np.unique(big, return_inverse=True)[1].reshape(big.shape).astype(np.uint32)
    inputs = {
        "mask2d 512x512": mask2d,
        "mask3d 31x61x57": mask3d,
        f"3D 128x256x256 ({int(big.max())} nuclei)": big,
    }
    comparisons = Comparisons(args.repeats, slow=20.0)

    def compare(task: str, *rest) -> None:
        if args.task is None or any(text in task for text in args.task):
            comparisons.compare(task, *rest)

    for name, labels in inputs.items():
        ndim = labels.ndim
        nrays = 32 if ndim == 2 else 96
        channel_last = labels[..., np.newaxis] if ndim == 3 else labels[np.newaxis, ..., np.newaxis]
        compare(
            "encode R",
            name,
            lambda: encode_channels(labels, ["R"], {"R": {"nrays": nrays}}),
            lambda: labels_into_channels(
                channel_last, mode=["R"], channel_extra_opts={"R": {"nrays": nrays}}
            ),
            "BiaPy",
        )
        # the same on one thread (segpipe's kernels use numba's threads, all cores by default;
        # BiaPy's ray march runs on one)
        compare(
            "encode R (segpipe on 1 thread)",
            name,
            lambda: _on_one_thread(encode_channels, labels, ["R"], {"R": {"nrays": nrays}}),
            lambda: labels_into_channels(
                channel_last, mode=["R"], channel_extra_opts={"R": {"nrays": nrays}}
            ),
            "BiaPy",
        )
        affinities = {
            "z_affinities": [1],
            "y_affinities": [1],
            "x_affinities": [1],
            "widen_borders": 0,
        }
        if ndim == 3:  # BiaPy's affinities need a Z axis longer than one
            compare(
                "encode A (face neighbours)",
                name,
                lambda: encode_channels(labels, ["A"], {"A": {"neighborhood": "6-connectivity"}}),
                lambda: labels_into_channels(
                    channel_last, mode=["A"], channel_extra_opts={"A": affinities}
                ),
                "BiaPy",
            )
        probability, rays = noisy_prediction(labels, nrays)
        threshold = 0.4
        if labels.size > 1e6:
            # candidates on a 2x2x2 grid above 0.7, as StarDist's grid=(2,2,2) predicts: every
            # voxel of a 128x256x256 volume as a candidate keeps stardist's NMS busy for hours
            threshold = 0.7
            off_grid = np.ones(labels.shape, dtype=bool)
            off_grid[::2, ::2, ::2] = False
            probability[off_grid] = 0
            print(f"  big volume: {int((probability >= threshold).sum())} candidates", flush=True)
        ours = lambda: star_nms(
            probability,
            rays,
            make_rays(nrays, ndim),
            prob_thresh=threshold,
            nms_thresh=0.3,
            overlap="union" if ndim == 2 else "smaller",
        )
        last = np.ascontiguousarray(np.moveaxis(rays, 0, -1))
        if ndim == 2:
            theirs = lambda: _stardist_2d(
                non_maximum_suppression,
                polygons_to_label,
                last,
                probability,
                threshold,
                labels.shape,
            )
        else:
            if args.skip_big_stardist and labels.size > 1e6:
                continue
            sd_rays = Rays_GoldenSpiral(nrays)
            theirs = lambda: _stardist_3d(
                non_maximum_suppression_3d,
                polyhedron_to_label,
                last,
                probability,
                sd_rays,
                threshold,
                labels.shape,
            )
        compare("StarDist NMS + paint", name, ours, theirs, "stardist")
        if args.skip_big_biapy_nms and labels.size > 1e6:
            continue
        compare(
            "StarDist NMS + paint",
            name,
            ours,
            lambda: stardist_instances_from_prediction(
                probability,
                last,
                prob_thresh=threshold,
                nms_iou_thresh=0.3,
                anisotropy=(1.0,) * ndim,
                grid=(1,) * ndim,
            ),
            "BiaPy",
        )

    comparisons.finish(args.json)


def _stardist_2d(nms, paint, distances, probability, threshold, shape):
    points, scores, kept = nms(distances, probability, prob_thresh=threshold, nms_thresh=0.3, b=0)
    return paint(kept, points, shape, prob=scores)


def _stardist_3d(nms, paint, distances, probability, rays, threshold, shape):
    points, scores, kept = nms(
        distances, probability, rays, prob_thresh=threshold, nms_thresh=0.3, b=0
    )
    return paint(kept, points, rays, shape, prob=scores, verbose=False)


if __name__ == "__main__":
    main()
