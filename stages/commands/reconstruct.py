"""segpipe reconstruct: blend the predicted patches of one image into its (C, [Z,] Y, X) channel
map."""

from __future__ import annotations

from pathlib import Path

import click

from .common import clear_errors


@click.command(name="reconstruct")
@click.argument("patch_paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Channel map TIFF (per_image/<image>.tif).",
)
@clear_errors
def command(patch_paths: tuple[str, ...], out_path: str) -> None:
    """Blend PATCH_PATHS (every shard of one image, from `segpipe predict`) into OUT_PATH.

    Each shard holds its rows already blended (overlapping cores weighted by a smooth window
    and divided by the summed weight of every core): they are added up, slab by slab. All
    shards must be given, else the uncovered area is an error.
    """
    import zipfile

    import numpy as np

    from ..io import InputError, provenance, write_tiff
    from ..nn.handoff import iter_rows, read_header
    from .predict import error_path

    header, shards = None, {}
    for path in patch_paths:
        reason = error_path(path)
        if not Path(path).exists() and reason.is_file():
            raise InputError(f"predict could not read the image: {reason.read_text().strip()}")
        try:
            this, _, _ = read_header(path)
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as error:
            raise InputError(
                f"{path} is not a complete patch file written by `segpipe predict` ({error}); "
                "delete it and predict again"
            ) from None
        if header is None:
            header = this
        elif {k: v for k, v in this.items() if k != "shard"} != {
            k: v for k, v in header.items() if k != "shard"
        }:
            raise InputError(
                f"{path} belongs to another image or prediction setting than {patch_paths[0]}"
            )
        k, n = this["shard"]
        if k in shards:
            raise InputError(f"{path} repeats patches already given by another shard")
        shards[k] = path
    n = header["shard"][1]
    if sorted(shards) != list(range(1, n + 1)):
        raise InputError(
            f"the shards hold {len(shards)} of the {n} shares of the patches of "
            f"{header['image']}: a shard is missing"
        )
    # the shards' final values add up: each already divided by the total blending weight
    blended = np.zeros((len(header["channels"]), *header["image_shape"]), dtype=np.float32)
    for k in sorted(shards):
        try:
            for first, values in iter_rows(shards[k]):
                blended[:, first : first + values.shape[1]] += values
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            raise InputError(
                f"{shards[k]} is not a complete patch file written by `segpipe predict` "
                f"({error}); delete it and predict again"
            ) from None
    write_tiff(
        out_path,
        blended,
        spacing=tuple(header["spacing"]) if header["spacing"] else None,
        metadata={
            "channels": header["channels"],
            "channel_options": header.get("channel_options", {}),
            "axes": "C" + ("ZYX" if blended.ndim == 4 else "YX"),
            # the cells each predicted patch contributed (evaluate's per-patch channel IoU)
            "core_size": header["core_size"],
            "source": header["image"],
            "versions": provenance(),
        },
    )
    click.echo(f"{out_path}: {blended.shape} from {len(patch_paths)} shard(s)")
