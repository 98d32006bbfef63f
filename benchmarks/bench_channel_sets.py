"""Every channel set's encoding and every decoder against BiaPy 3.7.1 (and stardist), in one run.

    benchmarks/.venv-biapy/bin/python benchmarks/bench_channel_sets.py [--repeats 2] [--json
    out.json] [--only-2d]

Inputs: stardist's mask2d (512x512, 125 nuclei) and a 128x256x256 volume cut from 5x5x5
relabelled copies of mask3d (4,229 nuclei). Encoding: ``encode_channels`` against BiaPy's
``labels_into_channels`` with the same options. Watershed decoding: the encoding of the
ground truth, decoded by ``watershed_from_channels`` and by BiaPy's
``watershed_by_channels`` with the same seed/surface/growth channels and the thresholds
segpipe's ``auto`` resolved to (so both flood the same seeds). EmbedSeg: the E targets of
the ground truth (BiaPy's ``Embedding_cluster`` gets them in its normalised coordinates:
offsets / (grid_size - 1), sigma as log(norm^2 / (2 sigma^2)) / 10). A call that takes
longer than ``--slow`` seconds is not repeated. Ratios > 1 mean segpipe is faster/lighter.
"""

from __future__ import annotations

import argparse

import numpy as np
import tifffile
from bench_stages import Comparisons, load_biapy, tiled_volume

from stages.channels import encode_channels
from stages.decode.embedseg import cluster_embeddings
from stages.decode.watershed import watershed_from_channels
from stages.demo import stardist_data_folder

SETS_2D = [
    ["F", "C"],
    ["F", "C", "Db"],
    ["F", "P"],
    ["F", "Db"],
    ["F", "Dc"],
    ["F", "T"],
    ["B", "C"],
    ["D", "C"],
    ["F", "Dn"],
    ["F", "V", "H"],
    ["Db", "V", "H"],
]
# BiaPy's watershed has no inferred default for sets with B or F,T; it is given segpipe's.
GRID_SIZE = 1024


def _three_d(codes: list[str]) -> list[str]:
    return [c for c in codes if c not in ("V", "H")] + (["Z", "V", "H"] if "H" in codes else [])


def biapy_embeddings(planes: np.ndarray, ndim: int) -> np.ndarray:
    """segpipe's E planes (offsets z,y,x in pixels, sigma in pixels, seediness) in BiaPy's
    convention."""
    norm = GRID_SIZE - 1
    offsets, sigma, seediness = planes[:ndim], planes[ndim : 2 * ndim], planes[2 * ndim]
    # BiaPy pairs offset channel k with coordinate axis k of (x, y[, z])
    offsets = offsets[::-1] / norm
    log_precision = np.log(norm**2 / (2 * np.maximum(sigma[::-1], 1e-3) ** 2)) / 10
    return np.ascontiguousarray(
        np.moveaxis(np.concatenate([offsets, log_precision, seediness[None]]), 0, -1)
    ).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--slow", type=float, default=20.0, help="Calls slower than this many seconds run once."
    )
    parser.add_argument("--json", default=None)
    parser.add_argument("--only-2d", action="store_true")
    parser.add_argument(
        "--only",
        choices=("encode", "decode", "watershed"),
        default=None,
        help="Run only the encoding, decoding or watershed-decoding rows (to re-measure one side "
        "after a change).",
    )
    parser.add_argument(
        "--task",
        action="append",
        default=None,
        help="Run only the rows whose task contains this text (repeatable), e.g. 'encode D+C'.",
    )
    args = parser.parse_args()
    labels_into_channels, watershed_by_channels, _ = load_biapy()
    import torch
    from biapy.data.post_processing.embedseg import Embedding_cluster

    torch.set_num_threads(2)
    folder = stardist_data_folder()
    mask2d = tifffile.imread(folder / "mask2d.tif").astype(np.uint32)
    mask3d = tifffile.imread(folder / "mask3d.tif").astype(np.uint32)
    big = tiled_volume(mask3d, (5, 5, 5))[:128, :256, :256]
    big = np.unique(big, return_inverse=True)[1].reshape(big.shape).astype(np.uint32)
    inputs = {"mask2d 512x512": mask2d}
    if not args.only_2d:
        inputs[f"3D 128x256x256 ({int(big.max())} nuclei)"] = big
    comparisons = Comparisons(args.repeats, slow=args.slow)

    def wanted(task: str) -> bool:
        kind = (
            args.only is None
            or task.startswith(args.only)
            or (args.only == "watershed" and "(watershed)" in task)
        )
        return kind and (args.task is None or any(text in task for text in args.task))

    def compare(task: str, *rest) -> None:
        if wanted(task):
            comparisons.compare(task, *rest)

    for name, labels in inputs.items():
        ndim = labels.ndim
        with_channel = labels[..., np.newaxis]
        for codes in SETS_2D:
            codes = codes if ndim == 2 else _three_d(codes)
            label = "+".join(codes)
            compare(
                f"encode {label}",
                name,
                lambda: encode_channels(labels, codes),
                lambda: labels_into_channels(with_channel, mode=codes, channel_extra_opts={}),
                "BiaPy",
            )
            channels = encode_channels(labels, codes)
            settings = watershed_from_channels(channels, codes).settings
            seeds, surface, growth = (
                settings["seed_channels"],
                settings["surface_channel"],
                settings["growth_channels"],
            )
            channel_last = np.ascontiguousarray(np.moveaxis(channels, 0, -1))
            compare(
                f"decode {label} (watershed)",
                name,
                lambda: watershed_from_channels(channels, codes),
                lambda: watershed_by_channels(
                    channel_last,
                    codes,
                    seeds,
                    ["auto"] * len(seeds),
                    surface,
                    growth,
                    ["auto"] * len(growth),
                    verbose=False,
                ),
                "BiaPy",
            )
        options = {"A": {"neighborhood": "4-connectivity" if ndim == 2 else "6-connectivity"}}
        if ndim == 3:  # BiaPy's affinities need a Z axis longer than one
            biapy_affinities = {
                "z_affinities": [1],
                "y_affinities": [1],
                "x_affinities": [1],
                "widen_borders": 0,
            }
            compare(
                "encode A (face neighbours)",
                name,
                lambda: encode_channels(labels, ["A"], options),
                lambda: labels_into_channels(
                    with_channel, mode=["A"], channel_extra_opts={"A": biapy_affinities}
                ),
                "BiaPy",
            )
        if not wanted("decode E (EmbedSeg clustering)"):
            continue
        embedding = encode_channels(labels, ["E"])
        biapy_form = biapy_embeddings(embedding, ndim)
        clusterer = Embedding_cluster(torch.device("cpu"), ndims=ndim, grid_size=GRID_SIZE)
        ours = cluster_embeddings(
            embedding, seed_thresh=0.9, fg_thresh=0.5, min_object_size=0
        ).labels
        theirs = clusterer.create_instances(biapy_form, fg_thresh=0.5, seed_thresh=0.9)
        print(
            f"  E objects: segpipe {int(ours.max())}, BiaPy {len(np.unique(theirs)) - 1}, ground "
            f"truth {len(np.unique(labels)) - 1}",
            flush=True,
        )
        compare(
            "decode E (EmbedSeg clustering)",
            name,
            lambda: cluster_embeddings(
                embedding, seed_thresh=0.9, fg_thresh=0.5, min_object_size=0
            ),
            lambda: clusterer.create_instances(biapy_form, fg_thresh=0.5, seed_thresh=0.9),
            "BiaPy",
        )

    comparisons.finish(args.json)


if __name__ == "__main__":
    main()
