"""segpipe refine: TEST.POST_PROCESSING.INSTANCE_REFINEMENT operations on a label image."""

from __future__ import annotations

from dataclasses import dataclass

import click

from .common import block_and_halo, clear_errors, config_option, ndim_of


@dataclass(frozen=True)
class RefineSettings:
    operations: tuple[str, ...]
    values: tuple[int | str, ...]
    ndim: int
    #: TEST.BY_CHUNKS's block size and halo, for a label volume refined block by block
    blocks: tuple[tuple[int, ...], tuple[int, ...]] | None = None


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
    blocks = block_and_halo(config) if config["TEST"]["BY_CHUNKS"]["ENABLE"] else None
    return RefineSettings(tuple(operations), tuple(values), ndim_of(config), blocks)


@click.command(name="refine")
@click.argument("labels_path", type=click.Path())
@click.argument("out_path", type=click.Path())
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
    """Refine every instance of LABELS_PATH and write OUT_PATH (ids renumbered 1..n). OUT_PATH
    a Zarr: LABELS_PATH (any label image, a Zarr of `segpipe decode` above all) is refined block
    by block with TEST.BY_CHUNKS's BLOCK_SIZE and HALO, one pass per operation, never read
    whole; the labels of refining it whole for instances within the halo."""
    from skimage.segmentation import relabel_sequential

    from ..containers import is_container
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
    if is_container(out_path):
        _refine_by_blocks(labels_path, out_path, ops, values, settings, config_path)
        return
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


def _refine_by_blocks(
    labels_path: str, out_path: str, operations, values, settings: RefineSettings, config_path
) -> None:
    """The refine command for a label volume written into a Zarr block by block."""
    import tempfile
    from pathlib import Path

    from ..containers import create_label_store
    from ..evaluate_blocks import open_label_blocks
    from ..io import atomic_directory, json_ready, provenance
    from ..refine_blocks import refine_by_blocks

    if settings.blocks is None:
        raise click.ClickException(
            f"{out_path}: labels are refined into a Zarr block by block: set "
            "TEST.BY_CHUNKS.ENABLE (with its BLOCK_SIZE and HALO), or write a TIFF"
        )
    block, halo = settings.blocks
    from .common import data_rank

    labels = open_label_blocks(labels_path, data_rank(None, settings.ndim, config_path))
    try:
        if labels.has_classes:
            raise click.ClickException(
                f"{labels_path}: labels with classes are refined whole: write a TIFF"
            )
        if len(block) != len(labels.shape):
            raise click.ClickException(
                f"TEST.BY_CHUNKS.BLOCK_SIZE {list(block)} does not fit the {len(labels.shape)}D "
                f"labels {labels_path}"
            )
        with atomic_directory(out_path) as folder:
            with tempfile.TemporaryDirectory(dir=Path(out_path).parent) as scratch:
                store = create_label_store(folder, labels.shape, block)
                count = refine_by_blocks(
                    labels, operations, values, block, halo,
                    lambda step: create_label_store(Path(scratch) / f"{step}.zarr",
                                                    labels.shape, block),
                    store,
                )  # fmt: skip
            store.attrs.update(json_ready({
                "source": str(labels_path), "spacing": _stored_spacing(labels_path),
                "operations": list(operations),
                "values": list(values), "block": list(block), "halo": list(halo),
                "objects": count, "versions": provenance(),
            }))  # fmt: skip
    except ValueError as error:
        raise click.ClickException(f"{labels_path}: {error}") from None
    finally:
        labels.close()
    click.echo(
        f"{out_path}: {count} instance(s) after {', '.join(operations) or 'no operation'} "
        "(by blocks)"
    )


def _stored_spacing(path: str) -> list | None:
    """The spacing a Zarr of segpipe's labels records (None for any other file)."""
    import zarr

    try:
        return dict(zarr.open_array(str(path), mode="r").attrs).get("spacing")
    except Exception:  # not a Zarr array: zarr raises many types
        return None
