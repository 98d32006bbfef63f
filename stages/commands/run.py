"""segpipe run: the whole workflow for one config, from any folder, with progress on the console."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from .common import clear_errors


def _profile(value: str, root: Path) -> str:
    """A profile folder: a path as given, or the name of one shipped with segpipe."""
    if Path(value).is_dir():
        return value
    shipped = root / "profiles" / value
    if shipped.is_dir():
        return str(shipped)
    available = ", ".join(sorted(p.name for p in (root / "profiles").iterdir() if p.is_dir()))
    raise click.BadParameter(
        f"{value!r} is neither a folder nor a profile shipped with segpipe ({available})",
        param_hint="--profile",
    )


@click.command(
    name="run",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.argument("config_path", type=click.Path(dir_okay=False))
@click.option(
    "--cores", default="all", show_default=True, help="CPU cores Snakemake may use (a number)."
)
@click.option(
    "--profile",
    default=None,
    help="Snakemake profile: 'slurm' or 'local' (shipped with segpipe) or a profile folder.",
)
@click.option("-n", "--dry-run", is_flag=True, help="Show the jobs that would run; run nothing.")
@click.argument("snakemake_args", nargs=-1, type=click.UNPROCESSED)
@clear_errors
def command(
    config_path: str,
    cores: str,
    profile: str | None,
    dry_run: bool,
    snakemake_args: tuple[str, ...],
) -> None:
    """Run the workflow on CONFIG_PATH in this folder (results under its RUN.RESULT_DIR).

    Any further arguments go to Snakemake (`segpipe run c.yaml --keep-going`; after a run,
    `segpipe run c.yaml --report report.html` writes its HTML report). Epochs and predicted
    images are reported as they finish, and the metrics at the end.
    """
    from ..config import load_config
    from ..run_report import LogFollower, metrics_summary, outputs_summary
    from ..workflow import ImageFolders, RunPaths, workflow_root
    from . import post_processing_steps

    config, _ = load_config(config_path)  # a bad config stops here, in one line
    root = workflow_root()
    command_line = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(root / "Snakefile"),
        "--configfile",
        str(Path(config_path).resolve()),
        "--cores",
        cores,
    ]
    if profile:
        command_line += ["--profile", _profile(profile, root)]
    if dry_run:
        command_line.append("--dry-run")
    command_line += list(snakemake_args)
    # the rules call `segpipe <stage>`: the one next to this Python, whatever PATH says
    environment = {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    run = config["RUN"]
    paths = RunPaths.of(run["RESULT_DIR"], run["NAME"], run["ID"])
    with LogFollower(paths, lambda line: click.echo(f"segpipe: {line}", err=True)):
        workflow = subprocess.Popen(command_line, env=environment)
        try:
            code = workflow.wait()
        except KeyboardInterrupt:
            # Snakemake got the same Ctrl-C: let it stop its jobs and release its lock
            code = workflow.wait()
            raise click.ClickException(
                "interrupted; run the same command again to go on where it stopped"
            ) from None
    if code != 0:
        raise click.ClickException(
            f"the workflow stopped (Snakemake exit {code}); the reason is above: a config or data "
            "error before any job, or the log of the job that failed"
        )
    if dry_run or any(arg.startswith("--report") for arg in snakemake_args):
        return  # nothing ran
    if paths.metrics.exists():
        click.echo(metrics_summary(paths.metrics))
    post_processed = bool(post_processing_steps(config))
    picture = _overview(config, paths, post_processed)
    folders = ImageFolders.of(config["TEST"]["FULL_IMG"])
    click.echo(
        outputs_summary(paths, folders.final_labels(post_processed), _model_used(config, paths))
        + (f"\n  overview     {picture}" if picture else "")
    )


def _model_used(config, paths) -> Path:
    """The model a run trained, or the one it predicted with (another path, a zoo package or
    the experiment's own)."""
    from .common import experiment_model_name, starting_model

    if config["TRAIN"]["ENABLE"]:
        return paths.model_dir / "model.pt"
    return Path(starting_model(config) or paths.model_dir / experiment_model_name(config))


def _overview(config, paths, post_processed: bool) -> Path | None:
    """The first test image, its predicted instances and ground truth side by side, as a PNG."""
    from ..io import image_name, read_labels, read_raw
    from ..run_report import overview_figure
    from ..workflow import ImageFolders
    from .common import split_images

    test = config["DATA"]["TEST"]
    if not config["TEST"]["ENABLE"]:
        return None
    raw_path = split_images(config, "TEST")[0]
    folder = ImageFolders.of(config["TEST"]["FULL_IMG"]).final_labels(post_processed)
    predicted_path = paths.results / folder / f"{image_name(raw_path)}.tif"
    if not predicted_path.exists():
        return None
    rank = 2 if config["PROBLEM"]["NDIM"] == "2D" else 3
    raw, _ = read_raw(raw_path, rank)
    predicted, _ = read_labels(predicted_path, rank)
    truth = None
    if test["LOAD_GT"]:
        truth, _ = read_labels(split_images(config, "TEST", labels=True)[0], rank)
    picture = paths.results / "charts" / f"{paths.name}_overview.png"
    overview_figure(raw, predicted, truth, picture, f"{paths.name}: {raw_path.name}")
    return picture
