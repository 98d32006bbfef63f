"""segpipe median-filter: TEST.POST_PROCESSING.MEDIAN_FILTER on predicted channels."""

from __future__ import annotations

from dataclasses import dataclass

import click

from .common import clear_errors, config_option, ndim_of


@dataclass(frozen=True)
class MedianFilterSettings:
    #: (axes, size) of each filter, in order
    filters: tuple[tuple[str, int], ...]
    ndim: int


def settings_from_config(config) -> MedianFilterSettings:
    post = config["TEST"]["POST_PROCESSING"]
    return MedianFilterSettings(
        tuple(zip(post["MEDIAN_FILTER_AXIS"], post["MEDIAN_FILTER_SIZE"])), ndim_of(config)
    )


def parse_filter(text: str) -> tuple[str, int]:
    """'z:5' -> ('z', 5)."""
    axes, _, size = text.partition(":")
    if not size.strip().isdigit():
        raise click.BadParameter(
            f"{text!r} is not AXES:SIZE such as z:5 or xy:3", param_hint="--filter"
        )
    return axes.strip(), int(size)


@click.command(name="median-filter")
@click.argument("channels_path", type=click.Path())
@click.argument("out_path", type=click.Path())
@click.option(
    "--filter",
    "filters_text",
    multiple=True,
    help="AXES:SIZE of one median filter (xy, yz, zx or z; e.g. z:5), repeatable, applied in "
    "order [default: MEDIAN_FILTER_AXIS with MEDIAN_FILTER_SIZE].",
)
@config_option
@clear_errors
def command(
    channels_path: str, out_path: str, filters_text: tuple[str, ...], config_path: str | None
) -> None:
    """Median-filter every plane of CHANNELS_PATH (from `segpipe reconstruct`) into OUT_PATH,
    which `segpipe decode` reads like the original. A Zarr of channels (`segpipe
    predict-blocks`) is filtered block by block into the Zarr OUT_PATH, never read whole:
    the same values as filtering it whole."""
    from ..containers import create_channel_store, is_container
    from ..io import (
        atomic_directory,
        json_ready,
        open_channels,
        provenance,
        read_channels,
        write_tiff,
    )
    from ..postprocess import median_filter_by_blocks, median_filter_channels
    from .common import settings_for

    settings = settings_for("median_filter", config_path)
    filters = (
        tuple(parse_filter(text) for text in filters_text) if filters_text else settings.filters
    )
    by_blocks = is_container(channels_path)
    if by_blocks != is_container(out_path):
        raise click.ClickException(
            f"{out_path}: a Zarr of channels is filtered into a Zarr, a TIFF into a TIFF"
        )
    channels, planes, info = (open_channels if by_blocks else read_channels)(channels_path)
    metadata = {
        **{k: v for k, v in info.metadata.items() if k != "shape"},
        "source": str(channels_path),
        "median_filters": [list(f) for f in filters],
        "versions": provenance(),
    }
    try:
        if by_blocks:
            # the blocks the channels were predicted in (their chunks divide them)
            block = info.metadata.get("block") or channels.array.chunks[1:]
            with atomic_directory(out_path) as folder:
                store = create_channel_store(folder, channels.shape, block, json_ready(metadata))
                median_filter_by_blocks(channels, filters, block, store)
        else:
            filtered = median_filter_channels(channels, filters)
    except ValueError as error:
        raise click.ClickException(f"{channels_path}: {error}") from None
    if not by_blocks:
        write_tiff(out_path, filtered, spacing=info.spacing, metadata=metadata)
    described = ", ".join(f"{axes} {size}" for axes, size in filters) or "no filter"
    click.echo(f"{out_path}: {len(planes)} channel(s) median-filtered ({described})")
