"""segpipe plan-decode: how a volume's channels are decoded block by block across jobs."""

from __future__ import annotations

import click

from .common import clear_errors, config_option
from .decode import roi_option, tuned_option


@click.command(name="plan-decode")
@click.argument("channels_path", type=click.Path())
@click.argument("plan_path", type=click.Path(dir_okay=False))
@click.option(
    "--blocks-per-job",
    type=click.IntRange(min=1),
    default=None,
    help="Blocks one decode-blocks job decodes [default: TEST.BY_CHUNKS.DECODE_BLOCKS_PER_JOB].",
)
@tuned_option
@roi_option
@config_option
@clear_errors
def command(
    channels_path: str,
    plan_path: str,
    blocks_per_job: int | None,
    tuned_path: str | None,
    roi_path: str | None,
    config_path: str | None,
) -> None:
    """Plan the decoding of CHANNELS_PATH (a Zarr of `segpipe predict-blocks`, or any channel
    file) by blocks of TEST.BY_CHUNKS.BLOCK_SIZE with its HALO, in groups of
    DECODE_BLOCKS_PER_JOB:
    the decoder and its settings (the watershed's 'auto' thresholds fixed on the whole
    channels, read block by block), written to PLAN_PATH (JSON). `segpipe decode-blocks
    PLAN_PATH PART --group k` decodes each group, `segpipe merge-blocks` joins the parts into
    the labels `segpipe decode` writes in one job."""
    from dataclasses import asdict

    from ..decode import CLASS_PLANE_PREFIX
    from ..decode.blocks import block_boxes, block_decoders
    from ..io import json_ready, write_json
    from ..nn.block_prediction import group_blocks
    from .common import settings_for
    from .decode import open_decode_input, with_tuned_thresholds

    settings = settings_for("decode", config_path)
    if settings.blocks is None:
        raise click.ClickException(
            f"{config_path}: decoding by blocks needs TEST.BY_CHUNKS.ENABLE (and its BLOCK_SIZE "
            "and HALO)"
        )
    if settings.voronoi_threshold is not None:
        raise click.ClickException(
            f"{config_path}: TEST.POST_PROCESSING.VORONOI_ON_MASK grows instances over whole "
            "label images: turn it off to decode by blocks"
        )
    found = open_decode_input(channels_path, settings, roi_path, config_path, lazy=True)
    if any(p.startswith(CLASS_PLANE_PREFIX) for p in found.planes):
        raise click.ClickException(
            f"{channels_path}: the classes of a class head are taken on whole label images: "
            "decode into a TIFF with `segpipe decode`"
        )
    decoders = (
        with_tuned_thresholds(settings.decoders, tuned_path) if tuned_path else settings.decoders
    )
    block, halo = settings.blocks
    shape = tuple(found.channels.shape[1:])
    if len(block) != len(shape):
        raise click.ClickException(
            f"{channels_path}: TEST.BY_CHUNKS.BLOCK_SIZE {list(block)} does not fit "
            f"{len(shape)}D channels"
        )
    try:
        name, decoders = block_decoders(
            found.channels, found.planes, block, decoders, settings.requested
        )
    except ValueError as error:
        raise click.ClickException(f"{channels_path}: {error}") from None
    count = len(block_boxes(shape, block))
    groups = group_blocks(count, blocks_per_job or settings.blocks_per_job)
    roi = None
    if found.roi_mask is not None:
        roi = {"mask": str(found.roi_mask), "axes": "" if roi_path else settings.roi[1]}
    write_json(
        plan_path,
        json_ready(
            {
                "channels_path": str(channels_path),
                "shape": list(shape),
                "planes": found.planes,
                "channel_options": found.channel_options,
                "roi": roi,
                "decoder": name,
                "settings": asdict(decoders[name]),
                "block": list(block),
                "halo": list(halo),
                "blocks": count,
                "groups": groups,
            }
        ),
    )
    click.echo(f"{plan_path}: {count} block(s) of {list(block)} in {len(groups)} job(s) ({name})")
