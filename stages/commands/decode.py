"""segpipe decode: predicted channels -> instance labels (marker-controlled watershed)."""
from __future__ import annotations

from pathlib import Path

import click

from .common import clear_errors, config_option


@click.command(name="decode")
@click.argument("channels_path", type=click.Path(dir_okay=False))
@click.argument("out_path", type=click.Path(dir_okay=False))
@click.option("--debug-dir", type=click.Path(file_okay=False), default=None,
              help="Where WATERSHED.DATA_CHECK_MW writes seed_map.tif, semantic.tif and foreground.tif [default: beside OUT_PATH in watershed/<name>/].")
@config_option
@clear_errors
def command(channels_path: str, out_path: str, debug_dir: str | None, config_path: str | None) -> None:
    """Decode CHANNELS_PATH (written by `segpipe reconstruct` or `segpipe encode`) into the label image OUT_PATH.

    The channel codes come from the file's metadata; PROBLEM.INSTANCE_SEG.WATERSHED
    of --config sets seeds, surface and growth mask (inferred from the codes when empty).
    """
    from ..decode.watershed import watershed_from_channels, watershed_options
    from ..io import provenance, read_channels, write_json, write_labels, write_tiff
    from .common import stage_config

    config = stage_config(config_path)
    section = config["PROBLEM"]["INSTANCE_SEG"]["WATERSHED"]
    channels, codes, info = read_channels(channels_path)
    expected = 2 if config["PROBLEM"]["NDIM"] == "2D" else 3
    if channels.ndim - 1 != expected:
        raise click.ClickException(f"{channels_path}: {channels.ndim - 1}D channels, but PROBLEM.NDIM is {config['PROBLEM']['NDIM']}")
    unsupported = [c for c in codes if c in ("R", "E", "A")]
    if unsupported:
        raise click.ClickException(f"{channels_path}: channels {unsupported} need a decoder other than the watershed, not implemented yet")
    try:
        result = watershed_from_channels(channels, codes, **watershed_options(section))
    except ValueError as error:
        raise click.ClickException(f"{channels_path}: {error}") from None
    if section["DATA_CHECK_MW"]:
        folder = Path(debug_dir) if debug_dir else Path(out_path).parent.parent / "watershed" / Path(out_path).stem
        write_tiff(folder / "seed_map.tif", result.seed_map.astype("uint32"), spacing=info.spacing)
        write_tiff(folder / "semantic.tif", result.surface, spacing=info.spacing)
        write_tiff(folder / "foreground.tif", result.growth_mask.astype("uint8"), spacing=info.spacing)
        write_json(folder / "settings.json", result.settings)
    write_labels(out_path, result.labels, spacing=info.spacing, metadata={
        "source": str(channels_path), "decoder": "watershed", "settings": result.settings, "versions": provenance()})
    click.echo(f"{out_path}: {int(result.labels.max())} instance(s)")
