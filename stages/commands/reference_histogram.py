"""segpipe reference-histogram: the pooled histogram of DATA.PREPROCESS.MATCH_HISTOGRAM's
reference images, read once for every preprocess job."""

from __future__ import annotations

import click

from .common import clear_errors, config_option


@click.command(name="reference-histogram")
@click.argument("out_path", type=click.Path())
@config_option
@clear_errors
def command(out_path: str, config_path: str | None) -> None:
    """Pool the pixels of DATA.PREPROCESS.MATCH_HISTOGRAM.REFERENCE_PATH (a folder's images,
    or one image) into the reference histogram OUT_PATH (.npz), which every preprocess job
    then reads (--histogram) instead of the reference images."""
    from ..preprocess import reference_histogram
    from .common import settings_for
    from .preprocess import reference_images, write_reference_histogram

    settings = settings_for("preprocess", config_path)
    path = settings.steps.histogram_reference
    if path is None:
        raise click.UsageError("DATA.PREPROCESS.MATCH_HISTOGRAM.ENABLE is false in the config")
    images = reference_images(path, settings.ndim)
    write_reference_histogram(out_path, reference_histogram(images))
    click.echo(f"{out_path}: the pixels of {len(images)} reference image(s) of {path}")
