"""segpipe plan-blocks: the blocks of a volume, its statistics and an empty Zarr of channels,
for `segpipe predict-blocks` jobs to fill block by block."""

from __future__ import annotations

import click

from .common import axes_for, clear_errors, config_option, model_option


@click.command(name="plan-blocks")
@click.argument("image_path", type=click.Path())
@click.argument("channels_path", type=click.Path())
@click.argument("plan_path", type=click.Path(dir_okay=False))
@model_option("model.pt written by `segpipe train` (or a package written by `segpipe export`).")
@click.option(
    "--block-size",
    default=None,
    help="Block size per spatial axis, comma-separated [default: TEST.BY_CHUNKS.BLOCK_SIZE].",
)
@click.option(
    "--blocks-per-job",
    type=click.IntRange(min=1),
    default=None,
    help="Blocks of one predict-blocks job [default: TEST.BY_CHUNKS.BLOCKS_PER_JOB].",
)
@config_option
@clear_errors
def command(
    image_path: str,
    channels_path: str,
    plan_path: str,
    model_path: str,
    block_size: str | None,
    blocks_per_job: int | None,
    config_path: str | None,
) -> None:
    """Plan the block-wise prediction of IMAGE_PATH: its normalisation statistics (gathered
    slab by slab), its blocks and their groups, written to PLAN_PATH (JSON), and an empty Zarr
    of channels at CHANNELS_PATH that `segpipe predict-blocks PLAN_PATH --group k` fills.
    Blocks are rounded up to whole steps of the patch grid (no patch predicted twice without
    need)."""
    from ..containers import create_channel_store
    from ..decode.blocks import block_boxes
    from ..image_regions import float_slabs, open_raw_regions
    from ..io import InputError, atomic_directory, provenance, write_json
    from ..nn.block_prediction import aligned_block, group_blocks
    from ..nn.model import load_model
    from ..nn.normalization import image_normalization
    from ..nn.patches import patch_grid
    from .common import settings_for

    settings = settings_for("predict", config_path)
    _, meta = load_model(model_path)
    rank = meta["ndim"]
    if config_path is not None and settings.ndim != rank:
        raise click.ClickException(
            f"{model_path} is a {rank}D model but PROBLEM.NDIM of {config_path} is {settings.ndim}D"
        )
    if config_path is None:
        patch = tuple(meta["patch_size"][:-1])
        padding, overlap = tuple(p // 8 for p in patch), (0.0,) * len(patch)
    else:
        patch, padding, overlap = settings.patch, settings.padding, settings.overlap
    block = _block(block_size, settings.blocks, patch)
    per_job = blocks_per_job or (settings.blocks[1] if settings.blocks else 8)
    if len(block) != rank:
        raise click.BadParameter(f"{list(block)} is not {rank}D", param_hint="--block-size")
    axes = axes_for(settings.axes, image_path) if settings.axes else None
    reader, info = open_raw_regions(image_path, rank, axes)
    with reader:
        if reader.shape[-1] != meta["spec"]["in_channels"]:
            raise InputError(
                f"{image_path}: {reader.shape[-1]} channel(s) in a {rank}D image of shape "
                f"{reader.shape[:-1]}, but the model {model_path} takes "
                f"{meta['spec']['in_channels']}"
            )
        normalization = image_normalization(float_slabs(reader, image_path), meta["normalization"])
        shape = reader.shape[:-1]
    grid = patch_grid(shape, patch, list(padding), list(overlap))  # checks the settings
    block = aligned_block(block, grid, overlap)
    boxes = block_boxes(shape, block)
    groups = group_blocks(len(boxes), per_job)
    with atomic_directory(channels_path) as folder:
        create_channel_store(
            folder,
            (len(meta["channels"]), *shape),
            block,
            {
                "channels": meta["channels"],
                "channel_options": meta.get("channel_options", {}),
                "axes": "C" + "ZYX"[-rank:],
                "core_size": list(grid.core_size),
                "spacing": list(info.spacing) if info.spacing else None,
                "source": str(image_path),
                "block": list(block),
                "versions": provenance(),
            },
        )
    write_json(
        plan_path,
        {
            "image": str(image_path),
            "axes": axes,
            "ndim": rank,
            "image_shape": list(shape),
            "channels_path": str(channels_path),
            "channels": meta["channels"],
            "model": str(model_path),
            "patch_size": list(patch),
            "padding": list(padding),
            "overlap": list(overlap),
            "tta": settings.tta,
            "batch_size": settings.batch_size,
            "block": list(block),
            "blocks": [[b.start for b in box] for box in boxes],
            "groups": groups,
            "normalization": normalization.to_json(),
        },
    )
    click.echo(
        f"{plan_path}: {len(boxes)} block(s) of {list(block)} in {len(groups)} job(s) for "
        f"{image_path} {list(shape)}"
    )


def _block(given: str | None, configured, patch) -> tuple[int, ...]:
    if given:
        try:
            block = tuple(int(v) for v in given.split(","))
        except ValueError:
            raise click.BadParameter(f"{given!r} is not comma-separated integers") from None
        if min(block) < 1:
            raise click.BadParameter(f"{given!r}: sizes must be positive")
        return block
    return tuple(configured[0]) if configured else tuple(4 * p for p in patch)
