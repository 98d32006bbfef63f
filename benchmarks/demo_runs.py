"""Run the demo pipeline (config/config.yaml) end to end with some keys changed; read its
held-out metrics. Shared by the benchmarks that compare settings by accuracy."""

from __future__ import annotations

import copy
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEMO_CONFIG = ROOT / "config" / "config.yaml"


def merged(base: dict, changes: dict) -> dict:
    """``base`` with the nested ``changes`` written over it (a copy)."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def run_demo(changes: dict, cores: int) -> tuple[float, pd.Series]:
    """Seconds of a whole `segpipe run` of the demo config with ``changes``, in a temporary
    folder, and the last row of its test_results_metrics.csv."""
    config = merged(yaml.safe_load(DEMO_CONFIG.read_text()), changes)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        config["RUN"] = {**config["RUN"], "RESULT_DIR": str(Path(folder) / "results")}
        for key in ("TRAIN", "TEST"):
            data = config["DATA"][key]
            data["PATH"] = str(Path(folder) / "data" / key.lower() / "raw")
            data["GT_PATH"] = str(Path(folder) / "data" / key.lower() / "label")
        path.write_text(yaml.safe_dump(config))
        started = time.time()
        segpipe = str(Path(sys.executable).with_name("segpipe"))
        subprocess.run(
            [segpipe, "run", str(path), "--cores", str(cores)],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        seconds = time.time() - started
        metrics = next((Path(folder) / "results").rglob("test_results_metrics.csv"))
        return seconds, pd.read_csv(metrics).iloc[-1]
