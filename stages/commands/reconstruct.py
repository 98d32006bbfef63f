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

    Padding is cropped and overlapping cores are weighted by a smooth window; all
    shards must be given, else the uncovered area is an error.
    """
    import json
    import zipfile

    import numpy as np

    from ..io import InputError, provenance, write_tiff
    from ..nn.patches import blend_cores
    from .predict import error_path

    cores, starts, seen, header = [], [], set(), None
    for path in patch_paths:
        reason = error_path(path)
        if not Path(path).exists() and reason.is_file():
            raise InputError(f"predict could not read the image: {reason.read_text().strip()}")
        try:
            with np.load(path) as data:
                this = json.loads(str(data["header"]))
                cores.append(data["cores"])
                starts.append(data["starts"])
                indices = set(data["indices"].tolist())
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
        if seen & indices:
            raise InputError(f"{path} repeats patches already given by another shard")
        seen |= indices
    if len(seen) != header["patches"]:
        raise InputError(
            f"the shards hold {len(seen)} of the {header['patches']} patches of "
            f"{header['image']}: a shard is missing"
        )
    blended = blend_cores(
        np.concatenate(cores),
        np.concatenate(starts),
        header["image_shape"],
        header["core_size"],
        header["overlap"],
    )
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
