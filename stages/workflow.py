"""Where the workflow's files are, and where a run's outputs go.

The Snakefile, rules/, profiles/, envs/ and config/ sit at the top of the repository; an
installed segpipe carries a copy in ``stages/_workflow/`` (setup.py puts it there), so
``segpipe run`` works from any folder with nothing but the package installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: what the workflow is made of, copied into the package when it is built
WORKFLOW_PARTS = ("Snakefile", "rules", "profiles", "envs", "config", "report")


def workflow_root() -> Path:
    """The folder holding the Snakefile: the package's copy, else the source checkout."""
    package = Path(__file__).resolve().parent
    for root in (package / "_workflow", package.parent):
        if (root / "Snakefile").is_file() and (root / "rules").is_dir():
            return root
    raise FileNotFoundError(
        f"the segpipe workflow (Snakefile, rules/) is neither in {package / '_workflow'} nor "
        f"in {package.parent}; reinstall segpipe"
    )


@dataclass(frozen=True)
class RunPaths:
    """The folders of one run (BiaPy's layout: <RESULT_DIR>/<NAME>/{results,checkpoints,...})."""

    name: str  # <NAME>_<ID>
    experiment: Path
    results: Path
    model_dir: Path
    stage_configs: Path

    @classmethod
    def of(cls, result_dir: str | Path, experiment_name: str, run_id: int) -> RunPaths:
        """The folders of run ``run_id`` of experiment ``experiment_name`` (RUN's keys)."""
        name = f"{experiment_name}_{run_id}"
        experiment = Path(result_dir) / experiment_name
        return cls(
            name=name,
            experiment=experiment,
            results=experiment / "results" / name,
            model_dir=experiment / "checkpoints" / name,
            stage_configs=experiment / "config_files" / name,
        )

    @property
    def logs(self) -> Path:
        return self.results / "logs"

    @property
    def metrics(self) -> Path:
        return self.results / "test_results_metrics.csv"


@dataclass(frozen=True)
class ImageFolders:
    """The per-test-image result folders (BiaPy's names): ``per_image*`` for images predicted
    in patches, ``full_image*`` for whole images (TEST.FULL_IMG)."""

    channels: str
    median_filtered: str
    instances: str
    post_processing: str

    @classmethod
    def of(cls, full_image: bool) -> ImageFolders:
        prefix = "full_image" if full_image else "per_image"
        return cls(
            channels=prefix,
            median_filtered=f"{prefix}_median_filtered",
            instances=f"{prefix}_instances",
            post_processing=f"{prefix}_post_processing",
        )

    def final_labels(self, post_processed: bool) -> str:
        """The folder of a run's final instances."""
        return self.post_processing if post_processed else self.instances
