"""What `segpipe run` shows while the workflow runs and when it ends.

Snakemake's console shows jobs; the stages' own progress goes to their log files. These
functions read those logs as they grow (training epochs, predicted images) and, at the end,
the metrics CSV, so that the console says what is happening and how well it went.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .workflow import RunPaths

#: the beginnings of the training log's lines that the console shows
TRAIN_NEWS = ("epoch ", "an epoch", "resuming", "not resuming", "no better", "training on", "CUDA")


class LogFollower:
    """Echo the data check's warnings, new epoch lines of the train log and each finished
    prediction, every ``interval``."""

    def __init__(self, paths: RunPaths, echo: Callable[[str], None], interval: float = 2.0):
        self.paths, self.echo, self.interval = paths, echo, interval
        self.offsets: dict[Path, int] = {}
        self.started = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LogFollower:
        self.started = time.time()
        train_log = self.paths.logs / "train.log"
        if train_log.exists():  # an earlier run's lines are not news
            self.offsets[train_log] = train_log.stat().st_size
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.poll()  # the lines written since the last look

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def _new_lines(self, path: Path) -> list[str]:
        try:
            if path.stat().st_size < self.offsets.get(path, 0):
                self.offsets[path] = 0  # written anew by a rerun
            with open(path, errors="replace") as handle:
                handle.seek(self.offsets.get(path, 0))
                text = handle.read()
        except OSError:
            return []
        complete = text[: text.rfind("\n") + 1]  # a half-written line waits for its end
        self.offsets[path] = self.offsets.get(path, 0) + len(complete.encode())
        return complete.splitlines()

    def _lines_of_this_run(self, path: Path) -> list[str]:
        """The new lines of a log that each run of its job writes anew (none of an earlier run)."""
        try:
            if path.stat().st_mtime < self.started:
                return []
        except OSError:
            return []
        return self._new_lines(path)

    def poll(self) -> None:
        for line in self._lines_of_this_run(self.paths.logs / "check.log"):
            parts = line.split(" ", 3)  # as in train.log
            if len(parts) == 4 and parts[1:3] == ["segpipe.check", "WARNING"]:
                self.echo(f"check: {parts[3]}")
        for line in self._new_lines(self.paths.logs / "train.log"):
            # "<time> <logger> <level> <message>", as `segpipe` logs
            parts = line.split(" ", 3)
            if len(parts) < 4 or parts[1] != "segpipe.train":
                continue
            level, message = parts[2], parts[3]
            if (
                level == "WARNING"
                or message.startswith(TRAIN_NEWS)
                or "training patch(es) of" in message
            ):
                self.echo(f"train: {message}")
        for log in sorted((self.paths.logs / "predict").glob("*.log")):
            # one line per image as a predict job of several images finishes each
            for line in self._lines_of_this_run(log):
                if "patch(es) of" in line:
                    self.echo(f"predict: {line.split(': ', 1)[-1]}")


def metrics_summary(csv_path: Path) -> str:
    """The average row of test_results_metrics.csv as a small table, one line per threshold."""
    import pandas as pd

    table = pd.read_csv(csv_path)
    average = table[table["file"] == "average"].iloc[0]
    rows = []
    for tag, label in (("", "instances"), ("(post)", "post-processed")):
        thresholds = sorted(
            {c.split(" TH ")[0] for c in table.columns if c.endswith(f" TH {tag}f1")}, key=float
        )
        for threshold in thresholds:
            key = f"{threshold} TH {tag}"
            rows.append(
                f"{label:>14}  {float(threshold):>5.2f}  {average[key + 'f1']:6.3f}  "
                f"{average[key + 'precision']:9.3f}  {average[key + 'recall']:6.3f}  "
                f"{average[key + 'panoptic_quality']:6.3f}"
            )
    images = int((table["file"] != "average").sum())
    header = f"{'':>14}  {'IoU':>5}  {'F1':>6}  {'precision':>9}  {'recall':>6}  {'PQ':>6}"
    return f"metrics, mean of {images} test image(s):\n{header}\n" + "\n".join(rows)


def outputs_summary(paths: RunPaths, labels_folder: str, model: Path) -> str:
    """Where a finished run's outputs are (``labels_folder``: that of the final instances;
    ``model``: the one trained, or the one a run without training predicted with); those a
    run does not make (metrics without ground truth) are left out."""
    outputs = [
        ("model", model),
        ("instances", paths.results / labels_folder),
        ("metrics", paths.metrics),
        ("loss chart", paths.results / "charts" / f"{paths.name}_loss.png"),
        ("logs", paths.logs),
    ]
    lines = [
        f"  {label:<12} {path}{'/' if path.is_dir() else ''}"
        for label, path in outputs
        if path.exists()
    ]
    return "outputs:\n" + "\n".join(lines)


def overview_figure(
    raw: np.ndarray, predicted: np.ndarray, truth: np.ndarray | None, path: Path, title: str
) -> None:
    """Raw image, predicted instances and ground truth side by side (3D: the middle slice).

    ``raw`` is channel-last; labels are drawn in random colours over a dim raw image.
    """
    from .pictures import display_grey, middle_slice, save_panels

    spatial = predicted.ndim
    grey = display_grey(raw, spatial)
    colours = np.random.default_rng(0).uniform(0.2, 1.0, size=(1 << 16, 3))

    def coloured(labels: np.ndarray) -> np.ndarray:
        labels = middle_slice(labels, spatial)
        picture = np.repeat(grey[..., np.newaxis] * 0.35, 3, axis=-1)
        inside = labels > 0
        picture[inside] = colours[labels[inside].astype(np.int64) % len(colours)]
        return picture

    panels = [("raw", grey), ("prediction", coloured(predicted))]
    if truth is not None:
        panels.append(("ground truth", coloured(truth)))
    save_panels(panels, path, title + (" (middle slice)" if spatial == 3 else ""))
