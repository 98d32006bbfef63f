"""segpipe ome-zarr: an image and its instances as one OME-Zarr that napari opens."""

from __future__ import annotations

from dataclasses import dataclass

import click

from .common import axes_for, axes_orders, clear_errors, config_option, ndim_of, settings_for


@dataclass(frozen=True)
class OmeZarrSettings:
    ndim: int
    axes: tuple  # the splits' axes orders for Zarr/HDF5 images (common.axes_orders)


def settings_from_config(config) -> OmeZarrSettings:
    return OmeZarrSettings(ndim_of(config), axes_orders(config))


@click.command(name="ome-zarr")
@click.argument("raw_path", type=click.Path())
@click.argument("labels_path", type=click.Path())
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(),
    help="The OME-Zarr to write (<image>.zarr), replaced if it exists.",
)
@click.option("--ndim", type=click.Choice(["2D", "3D"]), default=None, help="[default: the file's]")
@config_option
@clear_errors
def command(
    raw_path: str, labels_path: str, out_path: str, ndim: str | None, config_path: str | None
) -> None:
    """Write RAW_PATH (TIFF, Zarr or HDF5) with LABELS_PATH as its `instances` label image
    (and the class ids as `classes`) into OUT_PATH, an OME-Zarr (NGFF 0.4) with
    `image-label` metadata: `napari OUT_PATH` shows the image with its labels."""
    from ..containers import write_ome_zarr
    from ..io import (
        InputError,
        atomic_directory,
        image_name,
        read_labels_and_classes,
        read_raw,
    )
    from .common import data_rank

    settings = settings_for("ome_zarr", config_path)
    rank = data_rank(ndim, settings.ndim, config_path)
    labels, classes, info = read_labels_and_classes(labels_path, rank)
    raw, raw_info = read_raw(raw_path, labels.ndim, axes_for(settings.axes, raw_path))
    if raw.shape[:-1] != labels.shape:
        raise InputError(
            f"{labels_path} (shape {labels.shape}) does not fit {raw_path} (shape {raw.shape[:-1]})"
        )
    layers = {"instances": labels}
    if classes is not None:
        layers["classes"] = classes
    with atomic_directory(out_path) as temporary:
        write_ome_zarr(
            temporary,
            raw,
            layers,
            spacing=raw_info.spacing or info.spacing,
            name=image_name(raw_path),
        )
    click.echo(f"{out_path}: {raw.shape[:-1]} image with {', '.join(layers)} labels")
