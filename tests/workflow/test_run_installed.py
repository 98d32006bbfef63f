"""`segpipe run` from an installed wheel, in an unrelated folder, with no PATH set-up."""

from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .test_workflow import TINY_2D

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtual environment holding segpipe's wheel; the other packages (torch,
    snakemake, ...) are borrowed from this one through a .pth line, so nothing is downloaded."""
    root = tmp_path_factory.mktemp("installed")
    wheels = root / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(wheels), str(REPO)],
        check=True,
        cwd=root,
    )  # fmt: skip
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    (wheel,) = wheels.glob("segpipe-*.whl")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
    )
    packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    borrowed = [p for p in site.getsitepackages() if "site-packages" in p]
    # after the venv's own site-packages, so its segpipe wins over the editable one
    (Path(packages) / "borrowed.pth").write_text("\n".join(borrowed) + "\n")
    return venv


def test_segpipe_run_works_from_any_folder_and_reports_progress(
    installed, tmp_path, no_slurm_controller_queries
):
    folder = tmp_path / "my project"
    folder.mkdir()
    config = {
        **TINY_2D,
        "RUN": {"NAME": "fromwheel", "DEMO_DATA": "stardist2d"},
        "TRAIN": {**TINY_2D["TRAIN"], "EPOCHS": 1},
    }
    (folder / "run.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    environment = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    # neither venv's bin: no `segpipe` on PATH (the stand-in scontrol only)
    environment["PATH"] = f"{no_slurm_controller_queries}:/usr/bin:/bin"
    result = subprocess.run(
        [str(installed / "bin" / "segpipe"), "run", "run.yaml", "--cores", "2"],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    console = result.stdout + result.stderr
    # the workflow came from the installed package, not from this checkout
    assert str(installed) in console and "_workflow/Snakefile" in console
    assert "segpipe: train: epoch 1/1" in console
    assert "segpipe: predict: " in console and "tile-3.tif" in console
    assert "metrics, mean of 1 test image(s):" in result.stdout
    assert "  IoU      F1  precision  recall      PQ" in result.stdout
    assert "post-processed   0.50" in result.stdout
    results = folder / "results" / "fromwheel"
    assert (results / "checkpoints" / "fromwheel_1" / "model.pt").exists()
    overview = results / "results" / "fromwheel_1" / "charts" / "fromwheel_1_overview.png"
    assert overview.read_bytes()[:4] == b"\x89PNG" and "overview" in result.stdout
    assert (
        f"metrics      {Path('results/fromwheel/results/fromwheel_1/test_results_metrics.csv')}"
        in (result.stdout)
    )
