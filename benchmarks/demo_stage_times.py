"""Per-stage wall time and peak memory of a workflow run, from Snakemake's benchmark: files.

    python benchmarks/demo_stage_times.py results/demo2d/results/demo2d_1

Prints a Markdown table: one row per rule (jobs of the same rule summed), seconds and
the largest resident memory of any of its jobs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ORDER = [
    "demo_data",
    "check",
    "encode",
    "train",
    "predict",
    "reconstruct",
    "decode",
    "refine",
    "measure",
    "evaluate",
]


def stage_table(results: Path) -> pd.DataFrame:
    rows = []
    folders = [results / "benchmarks", results.parent.parent / "benchmarks"]
    for folder in folders:
        for path in sorted(folder.rglob("*.tsv")):
            stage = path.relative_to(folder).parts[0].removesuffix(".tsv")
            frame = pd.read_csv(path, sep="\t")
            rows.append(
                {
                    "stage": stage,
                    "seconds": float(frame["s"].iloc[0]),
                    "max_rss_mib": float(frame["max_rss"].iloc[0]),
                }
            )
    if not rows:
        sys.exit(f"no benchmark files under {folders[0]}: run the workflow first")
    table = (
        pd.DataFrame(rows)
        .groupby("stage")
        .agg(
            jobs=("seconds", "size"), seconds=("seconds", "sum"), max_rss_mib=("max_rss_mib", "max")
        )
    )
    return table.reindex(
        [s for s in ORDER if s in table.index] + [s for s in table.index if s not in ORDER]
    )


def main() -> None:
    results = Path(sys.argv[1] if len(sys.argv) > 1 else "results/demo2d/results/demo2d_1")
    table = stage_table(results)
    print("| stage | jobs | wall time (s) | peak RSS (MiB) |\n|---|---|---|---|")
    for stage, row in table.iterrows():
        print(f"| {stage} | {int(row.jobs)} | {row.seconds:.1f} | {row.max_rss_mib:.0f} |")
    print(f"| **all jobs** | {int(table.jobs.sum())} | {table.seconds.sum():.1f} | |")


if __name__ == "__main__":
    main()
