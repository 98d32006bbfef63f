"""segpipe decode: predicted channels -> instance labels (watershed, StarDist NMS or EmbedSeg
clustering)."""

from __future__ import annotations

from pathlib import Path

import click

from .common import clear_errors, config_option


@click.command(name="decode")
@click.argument("channels_path", type=click.Path(dir_okay=False))
@click.argument("out_path", type=click.Path(dir_okay=False))
@click.option(
    "--debug-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where WATERSHED.DATA_CHECK_MW writes seed_map.tif, semantic.tif and foreground.tif "
    "[default: beside OUT_PATH in watershed/<name>/].",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="CPU threads for the compiled kernels (StarDist's NMS) [default: all cores].",
)
@config_option
@clear_errors
def command(
    channels_path: str,
    out_path: str,
    debug_dir: str | None,
    threads: int | None,
    config_path: str | None,
) -> None:
    """Decode CHANNELS_PATH (written by `segpipe reconstruct` or `segpipe encode`) into the label
    image OUT_PATH.

    The channel planes come from the file's metadata and pick the decoder (R: StarDist
    NMS, E: EmbedSeg clustering, else the watershed) unless
    PROBLEM.INSTANCE_SEG.INSTANCE_CREATION_PROCESS names one; its WATERSHED, STARDIST
    and EMBEDSEG sections set the decoder (empty watershed lists are inferred).
    """
    from ..threads import limit_threads

    limit_threads(threads)
    from ..decode import decode_channels
    from ..io import provenance, read_channels, write_json, write_labels, write_tiff
    from .common import stage_config

    config = stage_config(config_path)
    seg = config["PROBLEM"]["INSTANCE_SEG"]
    channels, planes, info = read_channels(channels_path)
    expected = 2 if config["PROBLEM"]["NDIM"] == "2D" else 3
    if channels.ndim - 1 != expected:
        raise click.ClickException(
            f"{channels_path}: {channels.ndim - 1}D channels, but PROBLEM.NDIM is "
            f"{config['PROBLEM']['NDIM']}"
        )
    # the options the channels were made with travel in the file; the config's are the fallback
    channel_options = info.metadata.get("channel_options") or seg["DATA_CHANNELS_EXTRA_OPTS"]
    try:
        result = decode_channels(channels, planes, seg, channel_options)
    except ValueError as error:
        raise click.ClickException(f"{channels_path}: {error}") from None
    if result.debug and seg["WATERSHED"]["DATA_CHECK_MW"]:
        folder = (
            Path(debug_dir)
            if debug_dir
            else Path(out_path).parent.parent / "watershed" / Path(out_path).stem
        )
        for name, array in result.debug().items():
            write_tiff(folder / f"{name}.tif", array, spacing=info.spacing)
        write_json(folder / "settings.json", result.settings)
    write_labels(
        out_path,
        result.labels,
        spacing=info.spacing,
        metadata={
            "source": str(channels_path),
            "decoder": result.decoder,
            "settings": result.settings,
            "versions": provenance(),
        },
    )
    click.echo(f"{out_path}: {int(result.labels.max())} instance(s) ({result.decoder})")
