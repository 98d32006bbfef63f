"""segpipe demo-data: the stardist package's real sample in the spec's folder layout."""

from __future__ import annotations

import click

from .common import clear_errors


@click.command(name="demo-data")
@click.option(
    "--sample",
    type=click.Choice(["stardist2d", "stardist3d"]),
    default="stardist2d",
    show_default=True,
    help="2D: img2d/mask2d (512x512, real nuclei); 3D: img3d/mask3d (31x61x57).",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder that receives train/{raw,label} and test/{raw,label}.",
)
@clear_errors
def command(sample: str, out_dir: str) -> None:
    """Cut the sample into 2x2 tiles along Y and X: three for training, the last for testing."""
    from pathlib import Path

    from ..demo import demo_tiles, read_stardist_sample
    from ..io import write_tiff

    image, labels = read_stardist_sample(sample)
    out = Path(out_dir)
    tiles = demo_tiles(image, labels)
    for index, (raw_tile, label_tile) in enumerate(tiles):
        split = "test" if index == len(tiles) - 1 else "train"
        write_tiff(out / split / "raw" / f"tile-{index}.tif", raw_tile)
        write_tiff(out / split / "label" / f"tile-{index}.tif", label_tile)
    click.echo(
        f"{out}: {len(tiles) - 1} training tile(s) and 1 test tile of {tiles[0][0].shape} from "
        f"{sample}"
    )
