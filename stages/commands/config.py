"""segpipe config: validate a config file, print it resolved, or print the reference table."""

from __future__ import annotations

import click

from . import STAGES
from .common import clear_errors


@click.command(name="config")
@click.argument("config_path", required=False, type=click.Path(dir_okay=False))
@click.option("--reference", is_flag=True, help="Print the Markdown table of every key instead.")
@click.option(
    "--stage",
    type=click.Choice(STAGES),
    default=None,
    help="Print only the keys this stage reads.",
)
@clear_errors
def command(config_path: str | None, reference: bool, stage: str | None) -> None:
    """Validate CONFIG_PATH and print it with every default filled in."""
    from ..config import dump_yaml, reference_markdown
    from . import stage_slice
    from .common import stage_config

    if reference:
        click.echo(reference_markdown())
        return
    config = stage_config(config_path)
    click.echo(dump_yaml(stage_slice(config, stage) if stage else config), nl=False)
