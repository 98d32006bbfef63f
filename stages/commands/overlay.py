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
    image side by side into OUT_PATH (PNG; the middle slice of a volume)."""
    from ..io import InputError, read_image, read_labels, read_raw
    from ..labels import instance_count
    from ..pictures import image_panels, save_panels

    predicted, _ = read_labels(labels_path, None if ndim is None else int(ndim[0]))
    rank = predicted.ndim
    raw, _ = read_raw(raw_path, rank)
    true_labels = read_labels(truth, rank)[0] if truth else None
    matching = None
    if associations:
        matching, _ = read_image(associations)  # a TIFF, or the Zarr of a volume by blocks
        if matching.shape[-1] != 3 or matching.shape[:-1] != predicted.shape:
            raise InputError(
                f"{associations}: shape {matching.shape} is not the RGB association image of "
                f"{labels_path} (shape {predicted.shape})"
            )
    for name, other in (
        ("raw image", raw.shape[:-1]),
        ("ground truth", getattr(true_labels, "shape", None)),
    ):
        if other is not None and other != predicted.shape:
            raise InputError(
                f"the {name} (shape {other}) and {labels_path} (shape {predicted.shape}) differ"
            )
    threshold = _threshold_of(associations)
    panels = image_panels(
        raw,
        predicted,
        true_labels,
        matching,
        f"matching at IoU {threshold}: TP green, FN red, FP blue" if threshold else "matching",
    )
    save_panels(panels, out_path, f"{_stem(raw_path)}: {instance_count(predicted)} instance(s)")
    click.echo(f"{out_path}: {len(panels)} panel(s)")


def _stem(path: str) -> str:
    from pathlib import Path

    return Path(path).stem


def _threshold_of(path: str | None) -> str | None:
    """'0.3' from '<image>_th_0.3_associations.tif'."""
    if not path or "_th_" not in path:
        return None
    return _stem(path).rsplit("_th_", 1)[1].removesuffix("_associations")
