"""segpipe filter-by-properties: TEST.POST_PROCESSING.MEASURE_PROPERTIES.REMOVE_BY_PROPERTIES."""

from __future__ import annotations

from dataclasses import dataclass

import click

from .common import clear_errors, config_option
from .measure import MeasureSettings, measurement_spacing, resolution_option
from .measure import settings_from_config as measure_settings


@dataclass(frozen=True)
class FilterSettings:
    #: groups of (property, sign, value): an instance goes when all of one group hold
    groups: tuple[tuple[tuple[str, str, float], ...], ...]
    measure: MeasureSettings


def settings_from_config(config) -> FilterSettings:
    remove = config["TEST"]["POST_PROCESSING"]["MEASURE_PROPERTIES"]["REMOVE_BY_PROPERTIES"]
    groups = tuple(
        tuple(zip(props, signs, values))
        for props, signs, values in zip(remove["PROPS"], remove["SIGNS"], remove["VALUES"])
    )
    return FilterSettings(groups, measure_settings(config))


def parse_group(text: str) -> tuple[tuple[str, str, float], ...]:
    """'npixels lt 100, circularity le 0.7' -> (('npixels', 'lt', 100.0), ...)."""
    group = []
    for part in text.split(","):
        words = part.split()
        try:
            prop, sign, value = words
            group.append((prop, sign, float(value)))
        except ValueError:
            raise click.BadParameter(
                f"{part.strip()!r} is not PROPERTY SIGN VALUE such as 'npixels lt 100'",
                param_hint="--condition",
            ) from None
    return tuple(group)


@click.command(name="filter-by-properties")
@click.argument("labels_path", type=click.Path())
@click.argument("out_path", type=click.Path())
@click.option(
    "--condition",
    "conditions",
    multiple=True,
    help="One group of conditions, all of which remove an instance: 'npixels lt 100, "
    "circularity le 0.7' (signs gt, ge, lt, le); repeatable, any group removes [default: "
    "REMOVE_BY_PROPERTIES PROPS, SIGNS and VALUES].",
)
@click.option(
    "--all-stats",
    type=click.Path(dir_okay=False),
    default=None,
    help="CSV of every instance's measurements with its conditions and comment "
    "(per_image_instances/<image>_full_stats.csv).",
)
@click.option(
    "--kept-stats",
    type=click.Path(dir_okay=False),
    default=None,
    help="CSV of the instances kept (per_image_post_processing/<image>_filtered_stats.csv).",
)
@resolution_option
@config_option
@clear_errors
def command(
    labels_path: str,
    out_path: str,
    conditions: tuple[str, ...],
    all_stats: str | None,
    kept_stats: str | None,
    resolution: str | None,
    config_path: str | None,
) -> None:
    """Measure every instance of LABELS_PATH, remove those that satisfy a group of conditions and
    write OUT_PATH (ids kept) and the two CSVs. OUT_PATH a Zarr: a 3D Zarr of segpipe's labels
    (decode, refine) is measured and filtered block by block, never read whole (EXTRA_PROPS
    from each instance's region); other label images are read whole and written into the
    Zarr."""
    import numpy as np

    from ..containers import is_container
    from ..io import provenance, read_labels_and_classes, write_csv, write_labels
    from ..measure import measure_instances, with_class_column
    from ..postprocess import Condition, remove_by_properties
    from .common import data_rank, settings_for

    settings = settings_for("filter_by_properties", config_path)
    groups = tuple(parse_group(text) for text in conditions) if conditions else settings.groups
    try:
        condition_groups = [[Condition(*condition) for condition in group] for group in groups]
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--condition") from None
    if not condition_groups:
        raise click.UsageError(
            "give --condition or a config with REMOVE_BY_PROPERTIES PROPS, SIGNS and VALUES"
        )
    if is_container(out_path):
        _filter_into_store(labels_path, out_path, condition_groups, settings, resolution,
                           all_stats, kept_stats, config_path)  # fmt: skip
        return
    labels, classes, info = read_labels_and_classes(
        labels_path, data_rank(None, settings.measure.ndim, config_path)
    )
    spacing = measurement_spacing(resolution, settings.measure, info, labels_path, labels.ndim)
    try:
        table = measure_instances(
            labels, spacing=spacing, extra_properties=list(settings.measure.extra_properties)
        )
        kept, table = remove_by_properties(labels, table, condition_groups)
    except (AttributeError, ValueError) as error:
        raise click.ClickException(f"{labels_path}: {error}") from None
    if classes is not None:
        table = with_class_column(table, labels, classes)
    write_labels(
        out_path,
        kept,
        classes=None if classes is None else np.where(kept > 0, classes, 0),
        spacing=info.spacing,
        metadata={
            "source": str(labels_path),
            "removed_when": [[str(c) for c in group] for group in condition_groups],
            "versions": provenance(),
        },
    )
    if all_stats:
        write_csv(all_stats, table)
    if kept_stats:
        write_csv(kept_stats, table[table["comment"] == "Correct"])
    removed = int((table["comment"] == "Removed").sum())
    click.echo(f"{out_path}: {len(table) - removed} instance(s) kept, {removed} removed")


def _filter_into_store(
    labels_path: str, out_path: str, condition_groups, settings: FilterSettings, resolution,
    all_stats: str | None, kept_stats: str | None, config_path: str | None,
) -> None:  # fmt: skip
    """filter-by-properties into a Zarr of labels: block by block for a 3D label store."""
    from ..containers import create_label_store
    from ..io import ImageInfo, atomic_directory, json_ready, provenance, write_csv
    from ..measure_blocks import blockwise_measurements
    from ..postprocess.properties import judge_by_properties
    from ..refine_blocks import remove_ids_by_blocks
    from .common import data_rank
    from .measure import _label_store

    store = _label_store(labels_path)
    if store is not None:
        info = ImageInfo(spacing=store.attrs.get("spacing"), metadata={})
        spacing = measurement_spacing(resolution, settings.measure, info, labels_path, 3)
        block = tuple(store.chunks)
        try:
            table = blockwise_measurements(
                store,
                block,
                spacing or (1.0, 1.0, 1.0),
                extra_properties=list(settings.measure.extra_properties),
            )
        except (AttributeError, ValueError) as error:
            raise click.ClickException(f"{labels_path}: {error}") from None
        source, shape, ndim = store, tuple(store.shape), 3
    else:
        from ..io import read_labels_and_classes
        from ..measure import measure_instances

        labels, classes, info = read_labels_and_classes(
            labels_path, data_rank(None, settings.measure.ndim, config_path)
        )
        if classes is not None:
            raise click.ClickException(
                f"{labels_path}: labels with classes are written as a TIFF: give OUT_PATH .tif"
            )
        spacing = measurement_spacing(resolution, settings.measure, info, labels_path, labels.ndim)
        table = measure_instances(
            labels, spacing=spacing, extra_properties=list(settings.measure.extra_properties)
        )
        source, shape, ndim = labels, labels.shape, labels.ndim
        block = shape
    try:
        table, gone = judge_by_properties(table, condition_groups, ndim)
    except (AttributeError, ValueError) as error:
        raise click.ClickException(f"{labels_path}: {error}") from None
    with atomic_directory(out_path) as folder:
        out = create_label_store(folder, shape, block)
        remove_ids_by_blocks(source, out, block, gone)
        out.attrs.update(json_ready({
            "source": str(labels_path), "spacing": getattr(info, "spacing", None),
            "removed_when": [[str(c) for c in group] for group in condition_groups],
            "versions": provenance(),
        }))  # fmt: skip
    if all_stats:
        write_csv(all_stats, table)
    if kept_stats:
        write_csv(kept_stats, table[table["comment"] == "Correct"])
    removed = int((table["comment"] == "Removed").sum())
    click.echo(
        f"{out_path}: {len(table) - removed} instance(s) kept, {removed} removed"
        + (" (by blocks)" if store is not None else "")
    )
