"""Workflow tests run Snakemake locally (--cores), many times over."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def no_slurm_controller_queries(tmp_path_factory):
    """The SLURM executor plugin (a test extra) runs `scontrol show config` whenever Snakemake
    starts, whatever the executor. Where SLURM's tools are installed but no controller runs
    (after tests/slurm has stopped its cluster) each call waits 9 s for it: a stand-in
    scontrol that fails at once makes the plugin carry on as on a machine without SLURM."""
    folder = tmp_path_factory.mktemp("no_slurm")
    stand_in = folder / "scontrol"
    stand_in.write_text("#!/bin/sh\nexit 1\n")
    stand_in.chmod(0o755)
    before = os.environ["PATH"]
    os.environ["PATH"] = f"{folder}{os.pathsep}{before}"
    yield folder
    os.environ["PATH"] = before
