"""segpipe stack: 2D images of one kind (channel maps or label images) -> one 3D stack, for
TEST.ANALIZE_2D_IMGS_AS_3D_STACK."""

from __future__ import annotations

import click

from .common import clear_errors


@click.command(name="stack")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--out", "out_path", required=True, type=click.Path(dir_okay=False), help="The 3D stack."
)
@clear_errors
def command(paths: tuple[str, ...], out_path: str) -> None:
    """Stack the 2D PATHS, in the order given, along a new Z axis into OUT.

    Channel maps (from `segpipe reconstruct`, (C, Y, X)) become one (C, Z, Y, X) map with
    their channel codes; label images (with or without a class channel) become (Z, Y, X)
    labels, ids kept as they are. All must be of one kind and one shape.
    """
    import numpy as np

    from ..io import (
        InputError,
        provenance,
        read_channels,
        read_labels_and_classes,
        tiff_metadata,
        write_labels,
        write_tiff,
    )

    is_channels = "channels" in tiff_metadata(paths[0])
    planes, spacing, slices, classes, first = None, None, [], [], {}
    for path in paths:
        if is_channels:
            array, found, info = read_channels(path)
            if array.ndim != 3:
                raise InputError(f"{path}: a {array.ndim - 1}D channel map; stack takes 2D ones")
            if planes is not None and found != planes:
                raise InputError(f"{path}: channels {found}, but {paths[0]} has {planes}")
            planes, first = found, first or info.metadata
        else:
            array, found_classes, info = read_labels_and_classes(path, 2)
            if classes and (found_classes is None) != (classes[0] is None):
                raise InputError(
                    f"{path}: {'no' if found_classes is None else 'a'} class channel, but "
                    f"{paths[0]} has {'one' if classes[0] is not None else 'none'}"
                )
            classes.append(found_classes)
        if slices and array.shape != slices[0].shape:
            raise InputError(
                f"{path}: shape {array.shape} differs from {paths[0]} {slices[0].shape}; a stack "
                "needs 2D images of one shape"
            )
        spacing = spacing or info.spacing
        slices.append(array)
    metadata = {"sources": [str(p) for p in paths], "versions": provenance()}
    spacing_3d = (1.0, *spacing) if spacing else None
    if is_channels:
        stacked = np.stack(slices, axis=1)
        metadata.update(
            channels=planes,
            channel_options=first.get("channel_options", {}),
            axes="CZYX",
        )
        write_tiff(out_path, stacked, spacing=spacing_3d, metadata=metadata)
    else:
        stacked = np.stack(slices)
        write_labels(
            out_path,
            stacked,
            classes=None if classes[0] is None else np.stack(classes),
            spacing=spacing_3d,
            metadata=metadata,
        )
    click.echo(f"{out_path}: {len(paths)} image(s) stacked, shape {stacked.shape}")
