"""segpipe's defaults against BiaPy 3.7.1's where they differ: held-out accuracy of the demo.

The demo pipeline (config/config.yaml: the stardist 2D sample's training tiles, its held-out
tile) runs end to end once per variant and seed, each a fixed number of epochs (so the
figures do not depend on the machine's load), and its F1@0.5 on the held-out tile is read:

- segpipe:          the demo as it is (DATA_CHANNELS [F, C], no class rebalancing);
- rebalance:        PROBLEM.INSTANCE_SEG.CLASS_REBALANCE_WITHIN_CHANNELS true (BiaPy's default);
- B+C:              DATA_CHANNELS [B, C] (BiaPy 3.7.1's default);
- F+H+V tanh/linear: the H and V offsets' output activation, segpipe's default (tanh for
                    normalised offsets) and BiaPy 3.7.1's (linear);
- E centroid/medoid: EmbedSeg's instance centre, segpipe's default and BiaPy 3.7.1's.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_defaults.py [--seeds 0,1,2] [--epochs 30]
"""

from __future__ import annotations

import argparse
import statistics

from demo_runs import run_demo

VARIANTS = {
    "segpipe": {},
    "rebalance": {"PROBLEM": {"INSTANCE_SEG": {"CLASS_REBALANCE_WITHIN_CHANNELS": True}}},
    "B+C": {"PROBLEM": {"INSTANCE_SEG": {"DATA_CHANNELS": ["B", "C"]}}},
    # encoder options: H/V's output activation (segpipe's tanh for normalised offsets, BiaPy
    # 3.7.1's linear) and EmbedSeg's centre (segpipe's centroid, BiaPy's medoid)
    "F+H+V tanh": {"PROBLEM": {"INSTANCE_SEG": {
        "DATA_CHANNELS": ["F", "H", "V"], "DATA_CHANNEL_WEIGHTS": [],
        "DATA_CHANNELS_EXTRA_OPTS": [{}]}}},
    "F+H+V linear": {"PROBLEM": {"INSTANCE_SEG": {
        "DATA_CHANNELS": ["F", "H", "V"], "DATA_CHANNEL_WEIGHTS": [],
        "DATA_CHANNELS_EXTRA_OPTS": [{"H": {"act": "linear"}, "V": {"act": "linear"}}]}}},
    "E centroid": {"PROBLEM": {"INSTANCE_SEG": {
        "DATA_CHANNELS": ["E"], "DATA_CHANNEL_WEIGHTS": [], "DATA_CHANNELS_EXTRA_OPTS": [{}]}}},
    "E medoid": {"PROBLEM": {"INSTANCE_SEG": {
        "DATA_CHANNELS": ["E"], "DATA_CHANNEL_WEIGHTS": [],
        "DATA_CHANNELS_EXTRA_OPTS": [{"E": {"center_mode": "medoid"}}]}}},
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    print("| variant | F1@0.5 per seed | mean | run (s, mean) |")
    print("|---|---|---|---|")
    for name in args.variants.split(","):
        scores, seconds = [], []
        for seed in seeds:
            changes = {**VARIANTS[name], "SYSTEM": {"SEED": seed},
                       "TRAIN": {"EPOCHS": args.epochs, "PATIENCE": -1}}  # fmt: skip
            took, row = run_demo(changes, args.cores)
            scores.append(float(row["0.5 TH f1"]))
            seconds.append(took)
        print(
            f"| {name} | {', '.join(f'{s:.3f}' for s in scores)} | "
            f"{statistics.mean(scores):.3f} | {statistics.mean(seconds):.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
