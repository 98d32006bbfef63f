"""segpipe check: pair raw and label images and check them before anything is trained."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import click

from .common import (
    axes_for,
    axes_orders,
    clear_errors,
    config_option,
    inside_for,
    inside_paths,
    ndim_of,
)


@dataclass(frozen=True)
class CheckSettings:
    ndim: int  # the dimensionality the images must have
    patch: tuple[int, ...]  # spatial patch size: no larger than the largest labelled image
    n_classes: int = 2  # more: label images must carry a class channel with ids below it
    axes: tuple = ()  # the splits' axes orders for Zarr/HDF5 images (common.axes_orders)
    inside: tuple = ()  # arrays inside INPUT_ZARR_MULTIPLE_DATA containers (common.inside_paths)


def settings_from_config(config) -> CheckSettings:
    return CheckSettings(
        ndim_of(config),
        tuple(config["DATA"]["PATCH_SIZE"][:-1]),
        int(config["DATA"]["N_CLASSES"]),
        axes_orders(config),
        inside_paths(config),
    )


def class_channel_problem(classes, n_classes: int, rank: int) -> str:
    """What is wrong with a label image's class channel for ``n_classes`` ('' when nothing)."""
    if n_classes <= 2:
        return ""
    if classes is None:
        layout = "(Y, X, 2)" if rank == 2 else "(Z, Y, X, 2)"
        return (
            f"DATA.N_CLASSES is {n_classes}, so label images need two channels, instance ids "
            f"then class ids, channel last {layout}"
        )
    highest = int(classes.max(initial=0))
    if highest >= n_classes:
        return (
            f"class id {highest} in the class channel, but DATA.N_CLASSES is {n_classes} "
            f"(ids 0..{n_classes - 1}, 0 the background)"
        )
    return ""


#: how many times its own size an image may grow when padded up to the patch before segpipe
#: says so, and before it refuses: BiaPy's 3D template patch (20x128x128) pads the stardist 3D
#: volume (31x61x57) 4.7 times and its quarters (31x30x28) about 19 times, which costs little
#: at that size and BiaPy does too; a 2048x2048 patch on 256x256 tiles (64 times) fills memory
#: with reflections and is a mistake
PADDING_GROWTH_NOTED = 4.0
PADDING_GROWTH_REFUSED = 32.0


def padding_growth(patch: tuple[int, ...], shapes: list[tuple[int, ...]]) -> float:
    """How many times its own size the least-padded of images of ``shapes`` grows when padded
    up to ``patch`` (DATA.REFLECT_TO_COMPLETE_SHAPE); 1 when the patch fits in each."""
    return min(
        math.prod(max(p, s) for p, s in zip(patch, shape)) / math.prod(shape) for shape in shapes
    )


def patch_too_large(patch: tuple[int, ...], shapes: list[tuple[int, ...]]) -> str:
    """Why ``patch`` is too large for images of ``shapes`` ('' when it is not): padding even
    the least-padded image grows it more than :data:`PADDING_GROWTH_REFUSED` times."""
    growth = padding_growth(patch, shapes)
    if growth <= PADDING_GROWTH_REFUSED:
        return ""
    largest = tuple(max(sizes) for sizes in zip(*shapes))
    return (
        f"DATA.PATCH_SIZE {patch} is far larger than the images (largest extent per axis "
        f"{largest}): padding them up to it makes each at least {growth:.0f} times its size; "
        "choose a patch no larger than the images"
    )


@click.command(name="check")
@click.option(
    "--raw",
    "raw_dirs",
    multiple=True,
    required=True,
    type=click.Path(file_okay=False),
    help="Raw image folder (repeat for train, val, test).",
)
@click.option(
    "--label",
    "label_dirs",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Label folder paired with the --raw at the same position; give 'none' for a raw folder "
    "without labels.",
)
@click.option(
    "--ndim",
    type=click.Choice(["2D", "3D"]),
    default=None,
    help="Expected dimensionality [default: PROBLEM.NDIM of --config].",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write a JSON report of the pairs here.",
)
@config_option
@clear_errors
def command(
    raw_dirs: tuple[str, ...],
    label_dirs: tuple[str, ...],
    ndim: str | None,
    out_path: str | None,
    config_path: str | None,
) -> None:
    """Check every raw/label pair: counts, shapes, channel axis, integer non-negative labels, 2D/3D.

    Pairs are made in sorted file order. The first problem stops the check with a
    message naming the file.
    """
    from ..containers import is_container
    from ..io import list_images, pair_images, write_json
    from .common import settings_for

    if label_dirs and len(label_dirs) != len(raw_dirs):
        raise click.UsageError(
            f"{len(raw_dirs)} --raw folder(s) but {len(label_dirs)} --label folder(s); use "
            "'none' for a folder without labels"
        )
    settings = settings_for("check", config_path)
    rank = 2 if ndim == "2D" else 3 if ndim == "3D" else settings.ndim
    dims = f"{rank}D"
    report = []
    for index, raw_dir in enumerate(raw_dirs):
        label_dir = label_dirs[index] if label_dirs else "none"
        raw_inside, label_inside = inside_for(settings.inside, raw_dir)
        if label_dir == "none":
            pairs = [(raw, None) for raw in list_images(raw_dir, "raw image folder", raw_inside)]
        else:
            pairs = pair_images(raw_dir, label_dir, raw_inside, label_inside)
        channels = None
        for raw_path, label_path in pairs:
            if is_container(raw_path) or (label_path is not None and is_container(label_path)):
                # Zarr and HDF5 images may not fit in memory: read region by region
                entry = checked_by_regions(raw_path, label_path, rank, settings)
            else:
                entry = checked_whole(raw_path, label_path, rank, settings)
            if channels is None:
                channels = entry["channels"]
            elif entry["channels"] != channels:
                raise click.ClickException(
                    f"{raw_path}: {entry['channels']} channel(s), but the first image of "
                    f"{raw_dir} has {channels}"
                )
            report.append(entry)
        if config_path and label_dir != "none" and len(settings.patch) == rank:
            shapes = [tuple(e["shape"]) for e in report[-len(pairs) :]]
            problem = patch_too_large(settings.patch, shapes)
            if problem:
                raise click.ClickException(f"{raw_dir}: {problem}")
            growth = padding_growth(settings.patch, shapes)
            if growth > PADDING_GROWTH_NOTED:
                logging.getLogger("segpipe.check").warning(
                    "%s: DATA.PATCH_SIZE %s pads every image to at least %.1f times its size "
                    "(by reflection): a patch nearer their size holds more of them",
                    raw_dir,
                    settings.patch,
                    growth,
                )
        click.echo(
            f"{raw_dir}: {len(pairs)} image(s) OK"
            + (f", paired with {label_dir}" if label_dir != "none" else "")
        )
    if out_path:
        write_json(out_path, {"ndim": dims, "images": report})


def checked_whole(raw_path, label_path, rank: int, settings: CheckSettings) -> dict:
    """The report entry of a raw image and its labels (or None), each read whole."""
    import numpy as np

    from ..io import read_labels_and_classes, read_raw

    raw, _ = read_raw(raw_path, rank, axes_for(settings.axes, raw_path))
    entry = {"raw": str(raw_path), "shape": list(raw.shape[:-1]), "channels": int(raw.shape[-1])}
    if label_path is None:
        return entry
    labels, classes, _ = read_labels_and_classes(
        label_path, rank, axes_for(settings.axes, label_path, label=True)
    )
    problem = class_channel_problem(classes, settings.n_classes, rank)
    if problem:
        raise click.ClickException(f"{label_path}: {problem}")
    _same_shape(labels.shape, raw.shape[:-1], raw_path, label_path)
    entry.update(label=str(label_path), instances=int(np.count_nonzero(np.unique(labels))))
    return entry


def checked_by_regions(raw_path, label_path, rank: int, settings: CheckSettings) -> dict:
    """:func:`checked_whole`, reading the images block by block (the same checks: numbers,
    finite values, non-negative integer ids, class ids below DATA.N_CLASSES)."""
    import numpy as np

    from ..decode.blocks import block_boxes
    from ..evaluate_blocks import LabelBlocks, evaluation_block
    from ..image_regions import open_raw_regions
    from ..io import InputError, check_finite
    from ..labels import check_labels, instance_count_by_blocks

    reader, _ = open_raw_regions(raw_path, rank, axes_for(settings.axes, raw_path))
    with reader:
        shape, channels = tuple(reader.shape[:-1]), int(reader.shape[-1])
        if not all(shape) or not channels:
            raise InputError(f"{raw_path}: raw image is empty (shape {reader.shape})")
        block = evaluation_block(shape, (1,) * rank)
        for box in block_boxes(shape, block):
            values = np.asarray(reader[box])
            if not (np.issubdtype(values.dtype, np.number) or values.dtype == bool):
                raise InputError(f"{raw_path}: raw image has non-numeric dtype {values.dtype}")
            check_finite(values, raw_path, "raw image")
    entry = {"raw": str(raw_path), "shape": list(shape), "channels": channels}
    if label_path is None:
        return entry
    labels, _ = open_raw_regions(
        label_path, rank, axes_for(settings.axes, label_path, label=True), what="label image"
    )
    with labels:
        if labels.shape[-1] not in (1, 2):
            raise InputError(
                f"{label_path}: label image with {labels.shape[-1]} channels (ids, or ids then "
                "classes)"
            )
        _same_shape(tuple(labels.shape[:-1]), shape, raw_path, label_path)
        # the ids, checked region by region as they are counted
        count = instance_count_by_blocks(LabelBlocks(labels, label_path), block)
        classes = None
        if labels.shape[-1] == 2:
            highest = 0
            for box in block_boxes(shape, block):
                try:
                    region = check_labels(np.asarray(labels[box])[..., 1], "class ids")
                except ValueError as error:
                    raise InputError(f"{label_path}: {error}") from None
                highest = max(highest, int(region.max(initial=0)))
            classes = np.array([highest])  # what class_channel_problem reads of them
        problem = class_channel_problem(classes, settings.n_classes, rank)
        if problem:
            raise click.ClickException(f"{label_path}: {problem}")
    entry.update(label=str(label_path), instances=count)
    return entry


def _same_shape(label_shape, raw_shape, raw_path, label_path) -> None:
    if tuple(label_shape) != tuple(raw_shape):
        raise click.ClickException(
            f"{label_path}: label shape {tuple(label_shape)} differs from its raw image "
            f"{raw_path} {tuple(raw_shape)}"
        )
