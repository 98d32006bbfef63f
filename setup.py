"""Build hook: the installed package carries the workflow (Snakefile, rules, profiles, envs,
config) in stages/_workflow/, so `segpipe run` needs no clone. The files stay at the top of the
repository; everything else is in pyproject.toml."""

import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stages.workflow import WORKFLOW_PARTS  # noqa: E402  (stdlib only)


class BuildWithWorkflow(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "stages" / "_workflow"
        shutil.rmtree(target, ignore_errors=True)
        for part in WORKFLOW_PARTS:
            source = Path(part)
            if source.is_dir():
                # links (config/schema.yaml) are copied as the files they point to
                shutil.copytree(source, target / part, symlinks=False)
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, target / part)


setup(cmdclass={"build_py": BuildWithWorkflow})
