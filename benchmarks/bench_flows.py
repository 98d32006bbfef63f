"""Cellpose flows (Gh, Gv, Gz) against BiaPy 3.7.1's, in one run: making them from labels and
decoding them back into instances.

    PYTHONPATH=. benchmarks/.venv-biapy/bin/python benchmarks/bench_flows.py [--repeats 1]

Inputs: mask2d (512x512, 125 nuclei), mask3d (31x61x57, 51) and a 62x122x114 volume of 2x2x2
relabelled copies of mask3d (408 nuclei). Decoding starts from each side's own flows of the
ground truth (BiaPy's network output is 5x its unit flows: it divides by 5 before following
them), with a foreground of the ground truth; BiaPy runs at its own diameter (DIAM_MEAN 30,
no rescaling) and 200 steps, as segpipe. Times are the best of ``--repeats`` after a warm-up;
memory the peak of Python-tracked allocations. Ratios > 1 mean segpipe is faster or lighter.
F1 at IoU 0.5 and 0.9 of both decodings against the ground truth are printed after.
"""

from __future__ import annotations

import argparse
import importlib

import numpy as np
import tifffile
from bench_stages import Comparisons, load_biapy, tiled_volume

from stages.channels.flows import instance_flows
from stages.decode.flows import flows_to_instances
from stages.demo import stardist_data_folder
from stages.metrics import match_instances


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    load_biapy()
    biapy_flows = importlib.import_module("biapy.data.pre_processing").instances_to_flows
    biapy_decode = importlib.import_module(
        "biapy.data.post_processing.gradient_tracking"
    ).cellpose_flows_to_instances

    mask3d = tifffile.imread(stardist_data_folder() / "mask3d.tif")
    inputs = {
        "mask2d 512x512": tifffile.imread(stardist_data_folder() / "mask2d.tif"),
        "mask3d 31x61x57": mask3d,
        "mask3d x8 62x122x114": tiled_volume(mask3d, (2, 2, 2)),
    }
    comparisons = Comparisons(args.repeats)
    scores = []
    for name, labels in inputs.items():
        comparisons.compare(
            "make Cellpose flows",
            name,
            lambda labels=labels: instance_flows(labels),
            lambda labels=labels: biapy_flows(labels),
            "BiaPy 3.7.1",
        )
        ours = instance_flows(labels)
        # BiaPy returns (Gv, Gh, Gz); its decoder takes named channels last, the flows at 5x
        gv, gh, gz = biapy_flows(labels)
        names = ["F", "Gv", "Gh"] + (["Gz"] if labels.ndim == 3 else [])
        flows = [gv, gh] + ([gz] if labels.ndim == 3 else [])
        prediction = np.stack(
            [(labels > 0).astype(np.float32)] + [5 * np.asarray(f, np.float32) for f in flows],
            axis=-1,
        )

        def decode_theirs(prediction=prediction, names=names):
            return biapy_decode(
                prediction, names, fg_channel="F", diameter=30.0, diam_mean=30.0, n_steps=200
            )

        comparisons.compare(
            "follow the flows",
            name,
            lambda labels=labels, ours=ours: flows_to_instances(ours, labels > 0).labels,
            decode_theirs,
            "BiaPy 3.7.1",
        )
        for peer, found in (
            ("segpipe", flows_to_instances(ours, labels > 0).labels),
            ("BiaPy 3.7.1", decode_theirs()),
        ):
            f1 = [m.stats["f1"] for m in match_instances(labels, np.asarray(found), (0.5, 0.9))]
            scores.append((name, peer, f1))
    print("round trip F1 @0.5 / @0.9 against the ground truth:")
    for name, peer, f1 in scores:
        print(f"  {name:24s} {peer:12s} {f1[0]:.3f} / {f1[1]:.3f}")
    comparisons.finish(args.json)


if __name__ == "__main__":
    main()
