"""segpipe measure: per-instance measurements of a label image into a CSV."""

from __future__ import annotations

from dataclasses import dataclass

import click

from .common import clear_errors, config_option, ndim_of


@dataclass(frozen=True)
class MeasureSettings:
    ndim: int
    resolution: tuple[float, ...]
    extra_properties: tuple[str, ...]


def settings_from_config(config) -> MeasureSettings:
    return MeasureSettings(
        ndim_of(config),
        tuple(config["DATA"]["TEST"]["RESOLUTION"]),
        tuple(config["TEST"]["POST_PROCESSING"]["MEASURE_PROPERTIES"]["EXTRA_PROPS"]),
    )


def measurement_spacing(
    resolution: str | None, settings: MeasureSettings, info, labels_path: str, ndim: int
) -> tuple[float, ...] | None:
    """--resolution, else DATA.TEST.RESOLUTION, else the TIFF's pixel size (a warning when none
    of them gives one: sizes are then in pixels)."""
    from .common import log

    if resolution:
        try:
            spacing = tuple(float(v) for v in resolution.split(","))
        except ValueError:
            raise click.BadParameter(
                f"{resolution!r} is not a comma-separated list of numbers",
                param_hint="--resolution",
            ) from None
        if len(spacing) != ndim or min(spacing) <= 0:
            raise click.BadParameter(
                f"needs {ndim} positive value(s), got {resolution!r}", param_hint="--resolution"
            )
        return spacing
    spacing = settings.resolution or info.spacing
    if spacing is None:
        log.warning(
            "%s: no pixel size in the TIFF (ImageJ or OME metadata) and no "
            "DATA.TEST.RESOLUTION: areas, volumes and perimeters are in pixels",
            labels_path,
        )
    return spacing


resolution_option = click.option(
    "--resolution",
    default=None,
    help="Pixel size per axis, comma-separated ([Z,]Y,X) [default: DATA.TEST.RESOLUTION, else "
    "the TIFF's, else 1].",
)


@click.command(name="measure")
@click.argument("labels_path", type=click.Path())
@click.argument("out_path", type=click.Path(dir_okay=False))
@resolution_option
@click.option(
    "--extra-props",
    default=None,
    help="Comma-separated extra regionprops properties [default: MEASURE_PROPERTIES.EXTRA_PROPS].",
)
@config_option
@clear_errors
def command(
    labels_path: str,
    out_path: str,
    resolution: str | None,
    extra_props: str | None,
    config_path: str | None,
) -> None:
    """Measure each instance of LABELS_PATH: centre, npixels, area/volume, diameter, perimeter or
    surface area, circularity/elongation (2D) or sphericity (3D)."""
    from ..io import read_labels_and_classes, write_csv
    from ..measure import measure_instances, with_class_column
    from .common import data_rank, settings_for

    settings = settings_for("measure", config_path)
    extras = (
        [p.strip() for p in extra_props.split(",") if p.strip()]
        if extra_props is not None
        else list(settings.extra_properties)
    )
    store = _label_store(labels_path)
    if store is not None:
        # a 3D Zarr of labels written by decode: measured block by block, never read whole
        from ..io import ImageInfo, atomic_output
        from ..measure_blocks import (
            blockwise_measurements,
            empty_measurements,
            measurement_tables,
        )

        info = ImageInfo(spacing=store.attrs.get("spacing"), metadata={})
        spacing = measurement_spacing(resolution, settings, info, labels_path, 3)
        block = tuple(store.chunks)  # decode's blocks divide into them
        if extras:
            # the extra columns come from each instance's region: one table, by label
            try:
                table = blockwise_measurements(
                    store, block, spacing or (1.0, 1.0, 1.0), extra_properties=extras
                )
            except (AttributeError, ValueError) as error:
                raise click.ClickException(f"{labels_path}: {error}") from None
            write_csv(out_path, table)
            click.echo(f"{out_path}: {len(table)} instance(s), measured by blocks of {list(block)}")
            return
        count = 0
        with atomic_output(out_path) as temporary:
            # rows written as each layer of blocks completes them: only open instances held
            for table in measurement_tables(store, block, spacing=spacing or (1.0, 1.0, 1.0)):
                table.to_csv(temporary, mode="a", header=count == 0, index=False)
                count += len(table)
            if count == 0:
                empty_measurements(spacing or (1.0, 1.0, 1.0)).to_csv(temporary, index=False)
        click.echo(
            f"{out_path}: {count} instance(s), measured by blocks of {list(block)} (rows in the "
            "order the instances end along Z)"
        )
        return
    labels, classes, info = read_labels_and_classes(
        labels_path, data_rank(None, settings.ndim, config_path)
    )
    spacing = measurement_spacing(resolution, settings, info, labels_path, labels.ndim)
    try:
        table = measure_instances(labels, spacing=spacing, extra_properties=extras)
    except (AttributeError, ValueError) as error:
        raise click.ClickException(f"{labels_path}: {error}") from None
    if classes is not None:
        table = with_class_column(table, labels, classes)
    write_csv(out_path, table)
    click.echo(f"{out_path}: {len(table)} instance(s)")


def _label_store(path: str):
    """The Zarr array of a 3D label store written by `segpipe decode` (a ``ZYX`` array of
    unsigned ids), else None: other images are measured whole."""
    from ..containers import is_container

    if not is_container(path) or not str(path).endswith(".zarr"):
        return None
    import zarr

    try:
        array = zarr.open_array(str(path), mode="r")
    except Exception:  # an OME-Zarr group or anything else: read whole, with its own checks
        return None
    if array.attrs.get("axes") != "ZYX" or array.dtype.kind != "u":
        return None
    return array
