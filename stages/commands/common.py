"""What every stage command shares: config loading and turning input errors into one clear
message."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..config import ConfigError, load_config, resolve_config
from ..io import InputError

log = logging.getLogger("segpipe")


def stage_config(path: str | Path | None) -> dict:
    """The resolved config (defaults only when no file is given); warnings go to the log."""
    if path is None:
        config, warnings = resolve_config({})
    else:
        config, warnings = load_config(path)
    for warning in warnings:
        log.warning("%s", warning)
    return config


def clear_errors(function: Callable[..., Any]) -> Callable[..., Any]:
    """Report bad input as one line and exit 1, instead of a traceback."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (InputError, ConfigError, ValueError, FileNotFoundError) as error:
            raise click.ClickException(str(error)) from None

    return wrapper


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="BiaPy-style YAML config; defaults are used for keys it leaves out.",
)
