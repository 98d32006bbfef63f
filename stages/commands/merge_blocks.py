"""segpipe merge-blocks: join the parts of `segpipe decode-blocks` into a volume's labels."""

from __future__ import annotations

import click

from .common import clear_errors


@click.command(name="merge-blocks")
@click.argument("plan_path", type=click.Path(dir_okay=False))
@click.argument("out_path", type=click.Path())
@click.argument("part_paths", nargs=-1, required=True, type=click.Path())
@clear_errors
def command(plan_path: str, out_path: str, part_paths: tuple[str, ...]) -> None:
    """Join PART_PATHS, one per group of the blocks planned in PLAN_PATH, into the Zarr of
    instance labels OUT_PATH, written block by block: ids follow the order of the blocks, and
    the labels equal those `segpipe decode` writes decoding every block in one job."""
    import zarr

    from ..containers import create_label_store
    from ..decode.blocks import BlockPart, block_settings, merge_block_parts
    from ..io import InputError, atomic_directory, json_ready, open_channels, provenance
    from .common import log
    from .decode_blocks import planned_decoders, read_decode_plan

    plan = read_decode_plan(plan_path)
    parts: dict[int, BlockPart] = {}
    cut = 0
    for path in part_paths:
        try:
            array = zarr.open_array(str(path), mode="r")
            attrs = dict(array.attrs)
            group, objects, box = attrs["group"], int(attrs["objects"]), attrs["box"]
        except Exception as error:  # zarr raises many types for what is not an array
            raise InputError(
                f"{path}: not a part written by `segpipe decode-blocks` ({error})"
            ) from None
        if list(array.shape) != plan["shape"] or group in parts:
            raise InputError(f"{path}: not one of the parts of {plan_path} (group {group})")
        cut += int(attrs["cut"])
        parts[group] = BlockPart(
            array, objects, None if box is None else tuple(slice(*b) for b in box)
        )
    missing = sorted(set(range(1, len(plan["groups"]) + 1)) - set(parts))
    if missing:
        raise InputError(f"{plan_path}: no part given for group(s) {missing}")
    block, halo = plan["block"], plan["halo"]
    with atomic_directory(out_path) as folder:
        store = create_label_store(folder, plan["shape"], block)
        objects = merge_block_parts([parts[g] for g in sorted(parts)], store, block)
        used = block_settings(plan["decoder"], planned_decoders(plan), block, halo, objects, cut)
        _, _, info = open_channels(plan["channels_path"])
        spacing = list(info.spacing) if info.spacing else None
        store.attrs.update(
            json_ready(
                {
                    "source": plan["channels_path"],
                    "decoder": plan["decoder"],
                    "settings": used,
                    "voronoi_threshold": None,
                    "versions": provenance(),
                    "spacing": spacing,
                    "objects": objects,
                }
            )
        )
    if cut:
        log.warning(
            "%d instance(s) reached the edge of their block's halo %s and may be cut: raise "
            "TEST.BY_CHUNKS.HALO above twice the largest instance",
            cut,
            halo,
        )
    click.echo(f"{out_path}: {objects} instance(s) ({plan['decoder']}, by blocks in "
               f"{len(parts)} job(s))")  # fmt: skip
