"""segpipe resize-channels: predicted channels of a resized image, back to the image's shape."""

from __future__ import annotations

import click

from .common import clear_errors, config_option


@click.command(name="resize-channels")
@click.argument("channels_path", type=click.Path())
@click.argument("out_path", type=click.Path())
@click.option(
    "--shape-of",
    "image_path",
    type=click.Path(),
    required=True,
    help="The image (as it was before DATA.PREPROCESS.RESIZE) whose spatial shape to take.",
)
@config_option
@clear_errors
def command(channels_path: str, out_path: str, image_path: str, config_path: str | None) -> None:
    """Resize the predicted channels CHANNELS_PATH (of an image resized by DATA.PREPROCESS
    .RESIZE) back to the spatial shape of IMAGE, with RESIZE's order, mode and anti-aliasing,
    into OUT_PATH: decoding, measuring and evaluating then happen at the image's own size,
    as in BiaPy."""
    from ..image_regions import open_raw_regions
    from ..io import read_channels, write_tiff
    from ..preprocess import resize_channels
    from .common import axes_for, settings_for

    settings = settings_for("preprocess", config_path)
    if settings.steps.resize is None:
        raise click.ClickException(
            f"{config_path}: DATA.PREPROCESS.RESIZE is off: there is nothing to resize back"
        )
    channels, planes, info = read_channels(channels_path)
    reader, image_info = open_raw_regions(
        image_path, settings.ndim, axes_for(settings.axes, image_path)
    )
    with reader:  # the image's shape only: its pixels are not read
        shape = tuple(reader.shape[:-1])
    resized = resize_channels(channels, shape, settings.steps.resize)
    write_tiff(
        out_path,
        resized,
        spacing=image_info.spacing,
        # tifffile's own "shape" is that of the file read, not of this one
        metadata={
            **{k: v for k, v in info.metadata.items() if k != "shape"},
            "channels": planes,
            "resized_from": list(channels.shape[1:]),
        },
    )
    click.echo(f"{out_path}: {list(channels.shape[1:])} -> {list(resized.shape[1:])}")
