"""segpipe decode-blocks: decode one group of a volume's blocks (`segpipe plan-decode`) into a
part of its labels."""

from __future__ import annotations

import click

from .common import clear_errors


def read_decode_plan(plan_path: str) -> dict:
    """A plan of `segpipe plan-decode`; what is not one is an InputError naming the file."""
    import json

    from ..io import InputError

    keys = ("channels_path", "shape", "planes", "decoder", "settings", "block", "halo", "groups")
    try:
        plan = json.loads(open(plan_path).read())
        for key in keys:
            plan[key]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(
            f"{plan_path}: not a plan written by `segpipe plan-decode` ({error})"
        ) from None
    return plan


def planned_decoders(plan: dict) -> dict:
    """The decoder settings a plan holds, as the decoder's settings dataclass."""
    from ..decode import DECODERS

    values = {k: tuple(v) if isinstance(v, list) else v for k, v in plan["settings"].items()}
    return {plan["decoder"]: DECODERS[plan["decoder"]].settings(**values)}


@click.command(name="decode-blocks")
@click.argument("plan_path", type=click.Path(dir_okay=False))
@click.argument("part_path", type=click.Path())
@click.option(
    "--group",
    type=click.IntRange(min=1),
    required=True,
    help="Which group of blocks of the plan to decode (1..groups).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="CPU threads for the compiled kernels (StarDist's NMS) [default: all cores].",
)
@clear_errors
def command(plan_path: str, part_path: str, group: int, threads: int | None) -> None:
    """Decode group GROUP of the blocks planned in PLAN_PATH, each with its halo, and write the
    objects those blocks own into the Zarr PART_PATH (ids 1..n, zero elsewhere); no other
    file is written, so the groups run as parallel jobs."""
    from ..threads import limit_threads

    limit_threads(threads)
    from ..containers import create_label_store
    from ..decode.blocks import decode_blocks_with
    from ..io import InputError, atomic_directory, open_channels

    plan = read_decode_plan(plan_path)
    groups = plan["groups"]
    if group > len(groups):
        raise click.BadParameter(
            f"{plan_path} plans {len(groups)} group(s), not {group}", param_hint="--group"
        )
    channels, planes, _ = open_channels(plan["channels_path"])
    if list(channels.shape[1:]) != plan["shape"] or planes != plan["planes"]:
        raise InputError(
            f"{plan['channels_path']}: channels {planes} of shape {list(channels.shape[1:])}, "
            f"but {plan_path} was planned for {plan['planes']} of {plan['shape']}"
        )
    if plan.get("roi"):
        from ..roi import ChannelsInRegion, read_roi_mask

        mask = read_roi_mask(plan["roi"]["mask"], len(plan["shape"]), plan["roi"]["axes"])
        channels = ChannelsInRegion(channels, mask)
    block, halo = tuple(plan["block"]), tuple(plan["halo"])
    with atomic_directory(part_path) as folder:
        store = create_label_store(folder, plan["shape"], block)
        found = decode_blocks_with(
            channels, planes, block, halo, plan["decoder"], planned_decoders(plan),
            plan.get("channel_options") or {}, out=store, blocks=groups[group - 1],
        )  # fmt: skip
        box = None if found.box is None else [[s.start, s.stop] for s in found.box]
        store.attrs.update(
            {"plan": str(plan_path), "group": group, "objects": found.objects,
             "cut": found.cut, "box": box}
        )  # fmt: skip
    click.echo(
        f"{part_path}: {found.objects} instance(s) in {len(groups[group - 1])} block(s) "
        f"(group {group} of {len(groups)})"
    )
