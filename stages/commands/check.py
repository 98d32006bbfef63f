"""segpipe check: pair raw and label images and check them before anything is trained."""

from __future__ import annotations

import click

from .common import clear_errors, config_option, ndim_of


def settings_from_config(config) -> int:
    """The dimensionality the images must have."""
    return ndim_of(config)


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
    import numpy as np

    from ..io import list_images, pair_images, read_labels, read_raw, write_json
    from .common import settings_for

    if label_dirs and len(label_dirs) != len(raw_dirs):
        raise click.UsageError(
            f"{len(raw_dirs)} --raw folder(s) but {len(label_dirs)} --label folder(s); use "
            "'none' for a folder without labels"
        )
    rank = 2 if ndim == "2D" else 3 if ndim == "3D" else settings_for("check", config_path)
    dims = f"{rank}D"
    report = []
    for index, raw_dir in enumerate(raw_dirs):
        label_dir = label_dirs[index] if label_dirs else "none"
        if label_dir == "none":
            pairs = [(raw, None) for raw in list_images(raw_dir, "raw image folder")]
        else:
            pairs = pair_images(raw_dir, label_dir)
        channels = None
        for raw_path, label_path in pairs:
            raw, _ = read_raw(raw_path, rank)
            if channels is None:
                channels = raw.shape[-1]
            elif raw.shape[-1] != channels:
                raise click.ClickException(
                    f"{raw_path}: {raw.shape[-1]} channel(s), but the first image of {raw_dir} "
                    f"has {channels}"
                )
            entry = {
                "raw": str(raw_path),
                "shape": list(raw.shape[:-1]),
                "channels": int(raw.shape[-1]),
            }
            if label_path is not None:
                labels, _ = read_labels(label_path, rank)
                if labels.shape != raw.shape[:-1]:
                    raise click.ClickException(
                        f"{label_path}: label shape {labels.shape} differs from its raw image "
                        f"{raw_path} {raw.shape[:-1]}"
                    )
                entry.update(
                    label=str(label_path), instances=int(np.count_nonzero(np.unique(labels)))
                )
            report.append(entry)
        click.echo(
            f"{raw_dir}: {len(pairs)} image(s) OK"
            + (f", paired with {label_dir}" if label_dir != "none" else "")
        )
    if out_path:
        write_json(out_path, {"ndim": dims, "images": report})
