"""segpipe refine: TEST.POST_PROCESSING.INSTANCE_REFINEMENT operations on a label image."""

from __future__ import annotations

from dataclasses import dataclass

import click

from .common import clear_errors, config_option, ndim_of


@dataclass(frozen=True)
class RefineSettings:
    operations: tuple[str, ...]
    values: tuple[int | str, ...]
    ndim: int


def settings_from_config(config) -> RefineSettings:
    post = config["TEST"]["POST_PROCESSING"]
    section = post["INSTANCE_REFINEMENT"]
    operations = list(section["OPERATIONS"]) if section["ENABLE"] else []
    values = list(section["VALUES"]) if section["ENABLE"] else []
    # BiaPy's own keys for two of the operations, applied after the listed ones
    for key, operation in (("FILL_HOLES", "fill_holes"), ("CLEAR_BORDER", "clear_border")):
        if post[key]:
            operations.append(operation)
            values.append("none")
    return RefineSettings(tuple(operations), tuple(values), ndim_of(config))


@click.command(name="refine")
@click.argument("labels_path", type=click.Path())
@click.argument("out_path", type=click.Path(dir_okay=False))
@click.option(
    "--operations",
    default=None,
    help="Comma-separated operations, e.g. fill_holes,remove_small_objects [default: "
    "INSTANCE_REFINEMENT.OPERATIONS].",
)
@click.option(
    "--values",
    "values_text",
    default=None,
    help="Comma-separated values, one per operation ('none' where none applies).",
)
@config_option
@clear_errors
def command(
    labels_path: str,
    out_path: str,
    operations: str | None,
    values_text: str | None,
    config_path: str | None,
) -> None:
    """Refine every instance of LABELS_PATH and write OUT_PATH (ids renumbered 1..n)."""
    from skimage.segmentation import relabel_sequential

    from ..io import provenance, read_labels_and_classes, write_labels
    from ..labels.classes import classes_by_majority
    from ..refine import OPERATIONS, refine_instances
    from .common import data_rank, settings_for

    settings = settings_for("refine", config_path)
    if (operations is None) != (values_text is None):
        raise click.UsageError("give --operations and --values together")
    if operations is not None:
        ops = [o.strip() for o in operations.split(",") if o.strip()]
        bad = [o for o in ops if o not in OPERATIONS]
        if bad:
            raise click.BadParameter(
                f"unknown operation(s) {bad}; valid: {', '.join(OPERATIONS)}",
                param_hint="--operations",
            )
        values: list[int | str] = []
        for text in values_text.split(","):
            text = text.strip()
            if text == "none":
                values.append("none")
            elif text.isdigit():
                values.append(int(text))
            else:
                raise click.BadParameter(
                    f"{text!r} is neither a non-negative integer nor 'none'", param_hint="--values"
                )
    else:
        ops, values = list(settings.operations), list(settings.values)
    labels, classes, info = read_labels_and_classes(
        labels_path, data_rank(None, settings.ndim, config_path)
    )
    refined = relabel_sequential(refine_instances(labels, ops, values))[0]
    write_labels(
        out_path,
        refined,
        # an instance keeps the class most of its pixels had
        classes=None if classes is None else classes_by_majority(refined, classes),
        spacing=info.spacing,
        metadata={
            "source": str(labels_path),
            "operations": ops,
            "values": values,
            "versions": provenance(),
        },
    )
    click.echo(
        f"{out_path}: {int(refined.max())} instance(s) after {', '.join(ops) or 'no operation'}"
    )
