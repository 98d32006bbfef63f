"""segpipe predict-blocks: predict one group of a volume's blocks (`segpipe plan-blocks`)
straight into its Zarr of channels."""

from __future__ import annotations

import click

from .common import clear_errors, model_option


def read_plan(plan_path: str) -> dict:
    """A plan of `segpipe plan-blocks`; what is not one is an InputError naming the file."""
    import json

    from ..io import InputError

    try:
        plan = json.loads(open(plan_path).read())
        for key in ("image", "channels_path", "blocks", "groups", "block", "normalization"):
            plan[key]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(
            f"{plan_path}: not a plan written by `segpipe plan-blocks` ({error})"
        ) from None
    return plan


@click.command(name="predict-blocks")
@click.argument("plan_path", type=click.Path(dir_okay=False))
@model_option("The model the plan was made for.")
@click.option(
    "--group",
    type=click.IntRange(min=1),
    required=True,
    help="Which group of blocks of the plan to predict (1..groups).",
)
@click.option(
    "--done",
    "done_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write this JSON when every block of the group is written (the workflow's marker).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="CPU threads for torch [default: torch's].",
)
@clear_errors
def command(
    plan_path: str, model_path: str, group: int, done_path: str | None, threads: int | None
) -> None:
    """Predict group GROUP of the blocks planned in PLAN_PATH and write each block's channels
    into the plan's Zarr as soon as it is blended; no other block is touched, so the groups
    run as parallel jobs."""
    import time
    from pathlib import Path

    from ..containers import ContainerError, open_channel_store
    from ..image_regions import open_raw_regions
    from ..io import InputError, write_json
    from ..nn.block_prediction import predict_block
    from ..nn.normalization import Normalization
    from ..nn.patches import patch_grid
    from .predict import load_for_inference

    plan = read_plan(plan_path)
    groups = plan["groups"]
    if group > len(groups):
        raise click.BadParameter(
            f"{plan_path} plans {len(groups)} group(s), not {group}", param_hint="--group"
        )
    if Path(model_path).resolve() != Path(plan["model"]).resolve():
        raise InputError(f"{plan_path} was planned for the model {plan['model']}, not {model_path}")
    model, meta, device, channels_last = load_for_inference(model_path, threads)
    if meta["channels"] != plan["channels"]:
        raise InputError(f"{model_path} predicts {meta['channels']}, the plan {plan['channels']}")
    try:
        store = open_channel_store(plan["channels_path"], mode="r+")
    except ContainerError as error:
        raise InputError(str(error)) from None
    grid = patch_grid(plan["image_shape"], plan["patch_size"], plan["padding"], plan["overlap"])
    normalization = Normalization.from_json(plan["normalization"])
    reader, _ = open_raw_regions(plan["image"], plan["ndim"], plan["axes"])
    started, written = time.perf_counter(), []
    with reader:
        if list(reader.shape[:-1]) != list(plan["image_shape"]):
            raise InputError(
                f"{plan['image']} is {list(reader.shape[:-1])} now, but {plan_path} planned "
                f"{plan['image_shape']}: plan it again"
            )
        for index in groups[group - 1]:
            corner = plan["blocks"][index]
            box = tuple(
                slice(c, min(c + b, s))
                for c, b, s in zip(corner, plan["block"], plan["image_shape"])
            )
            values = predict_block(
                model, meta, reader, grid, plan["overlap"], box, normalization,
                batch_size=plan["batch_size"], tta=plan["tta"], device=device,
                channels_last=channels_last,
            )  # fmt: skip
            store[(slice(None), *box)] = values
            written.append(corner)
    seconds = time.perf_counter() - started
    if done_path:
        write_json(done_path, {"plan": plan_path, "group": group, "blocks": written,
                               "seconds": round(seconds, 3)})  # fmt: skip
    click.echo(
        f"{plan['channels_path']}: {len(written)} block(s) of group {group}/{len(groups)} "
        f"predicted in {seconds:.1f} s"
    )
