"""segpipe repair-large-blobs: TEST.POST_PROCESSING.REPARE_LARGE_BLOBS_SIZE on a label image."""

from __future__ import annotations

from dataclasses import dataclass

import click

from .common import clear_errors, config_option, ndim_of

#: chunk side of a repaired label store: every large instance's box is read (and, when it
#: changes, written) alone, and a chunk is decoded (and encoded) whole for any box touching it
REPAIR_CHUNK = 64


@dataclass(frozen=True)
class RepairSettings:
    min_size: int
    ndim: int


def settings_from_config(config) -> RepairSettings:
    return RepairSettings(
        config["TEST"]["POST_PROCESSING"]["REPARE_LARGE_BLOBS_SIZE"], ndim_of(config)
    )


@click.command(name="repair-large-blobs")
@click.argument("labels_path", type=click.Path())
@click.argument("out_path", type=click.Path())
@click.option(
    "--min-size",
    type=click.IntRange(min=1),
    default=None,
    help="Pixels an instance needs to be repaired [default: REPARE_LARGE_BLOBS_SIZE].",
)
@config_option
@clear_errors
def command(labels_path: str, out_path: str, min_size: int | None, config_path: str | None) -> None:
    """Merge into each large instance of LABELS_PATH the touching instances inside its bounding
    box and fill its holes; write OUT_PATH (ids kept). OUT_PATH a Zarr: LABELS_PATH is copied
    into it block by block and repaired there, reading only the boxes of the large instances
    and of the neighbours they absorb: the labels of repairing the whole image."""
    from ..containers import is_container
    from ..io import provenance, read_labels_and_classes, write_labels
    from ..labels import instance_count
    from ..labels.classes import classes_by_majority
    from ..postprocess import repair_large_blobs
    from .common import data_rank, settings_for

    settings = settings_for("repair_large_blobs", config_path)
    size = min_size if min_size is not None else settings.min_size
    if size < 1:
        raise click.UsageError(
            "give --min-size or a config with TEST.POST_PROCESSING.REPARE_LARGE_BLOBS_SIZE set"
        )
    if is_container(out_path):
        _repair_into_store(labels_path, out_path, size, data_rank(None, settings.ndim, config_path))
        return
    labels, classes, info = read_labels_and_classes(
        labels_path, data_rank(None, settings.ndim, config_path)
    )
    repaired = repair_large_blobs(labels, size)
    write_labels(
        out_path,
        repaired,
        # a merged instance takes the class most of its pixels had
        classes=None if classes is None else classes_by_majority(repaired, classes),
        spacing=info.spacing,
        metadata={"source": str(labels_path), "repair_min_size": size, "versions": provenance()},
    )
    before = instance_count(labels)
    after = instance_count(repaired)
    click.echo(f"{out_path}: {after} instance(s), {before - after} merged into larger ones")


def _repair_into_store(labels_path: str, out_path: str, size: int, rank: int | None) -> None:
    """repair-large-blobs into a Zarr of labels, block by block (``rank`` None: the file's)."""
    import numpy as np

    from ..containers import create_label_store
    from ..evaluate_blocks import evaluation_block, open_label_blocks
    from ..io import atomic_directory, json_ready, provenance
    from ..labels import label_boxes_by_blocks, label_sizes_by_blocks
    from ..postprocess.large_blobs import repair_large_blobs_into
    from ..refine_blocks import remove_ids_by_blocks

    labels = open_label_blocks(labels_path, rank)
    try:
        if labels.has_classes:
            raise click.ClickException(
                f"{labels_path}: labels with classes are repaired whole: write a TIFF"
            )
        shape = labels.shape
        block = evaluation_block(shape, (1,) * len(shape))
        with atomic_directory(out_path) as folder:
            out = create_label_store(folder, shape, block, REPAIR_CHUNK)
            remove_ids_by_blocks(labels, out, block, [])  # a copy, block by block
            sizes = label_sizes_by_blocks(out, block)
            before = int(np.count_nonzero(sizes[1:]))
            boxes = label_boxes_by_blocks(out, block)
            after = before - repair_large_blobs_into(out, sizes, boxes, size)
            out.attrs.update(json_ready({
                "source": str(labels_path), "repair_min_size": size, "versions": provenance(),
            }))  # fmt: skip
    finally:
        labels.close()
    click.echo(f"{out_path}: {after} instance(s), {before - after} merged into larger ones "
               "(by blocks)")  # fmt: skip
