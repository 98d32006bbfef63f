"""segpipe overlay: a PNG of a test image with its instances' outlines and their matching."""

from __future__ import annotations

import click

from .common import clear_errors


@click.command(name="overlay")
@click.argument("raw_path", type=click.Path())
@click.argument("labels_path", type=click.Path())
@click.argument("out_path", type=click.Path(dir_okay=False))
@click.option("--truth", type=click.Path(), default=None, help="Ground-truth labels.")
@click.option(
    "--associations",
    type=click.Path(),
    default=None,
    help="The association picture of `segpipe evaluate` (<image>_th_<t>_associations.tif, or "
    ".zarr for a volume evaluated by blocks).",
)
@click.option("--ndim", type=click.Choice(["2D", "3D"]), default=None, help="[default: the file's]")
@clear_errors
def command(
    raw_path: str,
    labels_path: str,
    out_path: str,
    truth: str | None,
    associations: str | None,
    ndim: str | None,
) -> None:
    """Draw RAW_PATH with the outlines of LABELS_PATH (and of --truth) and the --associations
    image side by side into OUT_PATH (PNG; the middle slice of a volume). Of a volume only
    that slice is read (Zarr, HDF5 or TIFF), and the instances are counted block by block: a
    volume larger than memory is drawn in the memory of one slice and one block."""
    import numpy as np

    from ..evaluate_blocks import evaluation_block, open_label_blocks
    from ..image_regions import open_raw_regions
    from ..io import InputError
    from ..labels import instance_count_by_blocks
    from ..pictures import image_panels, save_panels

    labels = open_label_blocks(labels_path, None if ndim is None else int(ndim[0]))
    opened = [labels]
    try:
        shape = labels.shape
        rank = len(shape)
        # the middle Z slice of a volume (kept as a volume of one slice), a 2D image whole
        view = (slice(shape[0] // 2, shape[0] // 2 + 1),) if rank == 3 else ()
        view += (slice(None),) * (rank - len(view))
        predicted = labels[view]
        raw_reader, _ = open_raw_regions(raw_path, rank)
        opened.append(raw_reader)
        truth_reader = open_label_blocks(truth, rank) if truth else None
        if truth_reader is not None:
            opened.append(truth_reader)
        matching_reader = None
        if associations:
            matching_reader, _ = open_raw_regions(associations, rank, what="association image")
            opened.append(matching_reader)
            if matching_reader.shape != (*shape, 3):
                raise InputError(
                    f"{associations}: shape {matching_reader.shape} is not the RGB association "
                    f"image of {labels_path} (shape {shape})"
                )
        for name, other in (
            ("raw image", raw_reader.shape[:-1]),
            ("ground truth", getattr(truth_reader, "shape", None)),
        ):
            if other is not None and tuple(other) != shape:
                raise InputError(
                    f"the {name} (shape {tuple(other)}) and {labels_path} (shape {shape}) differ"
                )
        raw = np.asarray(raw_reader[view])
        true_labels = truth_reader[view] if truth_reader is not None else None
        matching = np.asarray(matching_reader[view]) if matching_reader is not None else None
        count = instance_count_by_blocks(labels, evaluation_block(shape, (1,) * rank))
    finally:
        for reader in opened:
            reader.close()
    threshold = _threshold_of(associations)
    panels = image_panels(
        raw,
        predicted,
        true_labels,
        matching,
        f"matching at IoU {threshold}: TP green, FN red, FP blue" if threshold else "matching",
    )
    save_panels(panels, out_path, f"{_stem(raw_path)}: {count} instance(s)")
    click.echo(f"{out_path}: {len(panels)} panel(s)")


def _stem(path: str) -> str:
    from ..io import image_name

    return image_name(path)


def _threshold_of(path: str | None) -> str | None:
    """'0.3' from '<image>_th_0.3_associations.tif'."""
    if not path or "_th_" not in path:
        return None
    return _stem(path).rsplit("_th_", 1)[1].removesuffix("_associations")
