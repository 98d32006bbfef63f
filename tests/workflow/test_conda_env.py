import re
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[2]
# conda-forge's names for the packages PyPI calls otherwise; snakemake runs the rules, not inside
# them
CONDA_NAMES = {"torch": "pytorch", "matplotlib": "matplotlib-base"}
NOT_IN_RULES = {"snakemake"}


def test_the_rules_conda_environment_holds_every_runtime_dependency():
    # segpipe is installed there with --no-deps: a package missing here is missing in the rules
    requirements = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    wanted = {
        CONDA_NAMES.get(name, name)
        for name in (re.match(r"[A-Za-z0-9_.-]+", r).group(0) for r in requirements)
    }
    environment = yaml.safe_load((ROOT / "envs" / "segpipe.yaml").read_text())
    present = {
        re.match(r"[A-Za-z0-9_.-]+", entry).group(0)
        for entry in environment["dependencies"]
        if isinstance(entry, str)
    }
    missing = wanted - NOT_IN_RULES - present
    assert not missing, f"envs/segpipe.yaml lacks {sorted(missing)}"
