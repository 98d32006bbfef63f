"""The `segpipe` command: one lazily imported subcommand per stage, so `--help` is instant."""

from __future__ import annotations

import importlib
import logging
import sys

import click

COMMANDS = {
    "run": "Run the whole workflow on a config, from any folder (Snakemake underneath).",
    "demo-data": "Write the stardist sample (2D or 3D) as train/test raw and label folders.",
    "preprocess": "Resize, blur, match histograms, equalise or edge-detect a raw image.",
    "reference-histogram": "Pool the histogram reference images of MATCH_HISTOGRAM once.",
    "resize-channels": "Resize predicted channels back to their image's shape (after RESIZE).",
    "check": "Pair raw and label images and check counts, shapes, dtypes and dimensionality.",
    "encode": "Encode an instance label image into the network's channels (F, B, P, C, T, Db, "
    "Dc, D, H/V/Z).",
    "train": "Train a network (MODEL.ARCHITECTURE) on raw images and their encoded channels.",
    "tune": "Choose the decoder's thresholds for the best F1 on the model's validation data.",
    "predict": "Predict the patches of images (or one shard of them) with a trained model.",
    "plan-blocks": "Plan a volume's block-wise prediction: statistics, blocks, an empty Zarr.",
    "predict-blocks": "Predict one group of a volume's blocks into its Zarr of channels.",
    "reconstruct": "Blend predicted patches into the full channel map of one image.",
    "median-filter": "Median-filter predicted channels along chosen axes (before decode).",
    "decode": "Turn predicted channels into instances by marker-controlled watershed.",
    "plan-decode": "Plan a volume's block-wise decoding: decoder settings, blocks, job groups.",
    "decode-blocks": "Decode one group of a volume's blocks into a part of its labels.",
    "merge-blocks": "Join the parts of decode-blocks jobs into a volume's labels (Zarr).",
    "refine": "Apply per-instance refinement operations to a label image.",
    "repair-large-blobs": "Merge the fragments inside large instances and fill their holes.",
    "filter-by-properties": "Remove the instances whose measurements meet given conditions.",
    "measure": "Measure every instance of a label image into a CSV.",
    "evaluate": "Match predicted against ground-truth instances and write the metrics CSVs.",
    "stack": "Stack 2D channel maps or label images into one 3D stack (as_3d_stack).",
    "overlay": "Draw a test image with its instances' outlines and matching (PNG).",
    "export": "Export a trained model as a BioImage Model Zoo package (.zip or folder).",
    "import-biapy": "Turn a checkpoint BiaPy trained (.pth) into a segpipe model.",
    "ome-zarr": "Write an image and its instances as one OME-Zarr (labels napari opens).",
    "config": "Validate a config and print it resolved, or print the config reference.",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module = importlib.import_module(f"stages.commands.{name.replace('-', '_')}")
        return module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl(list(COMMANDS.items()))


@click.group(cls=LazyGroup)
@click.version_option(package_name="segpipe")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.option("--debug", is_flag=True, help="Show the traceback of an error, not one line.")
def cli(verbose: bool, debug: bool) -> None:
    """segpipe: instance segmentation for microscopy, one stage per command."""
    if debug:
        import os

        os.environ["SEGPIPE_DEBUG"] = "1"
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )


def main() -> None:
    from .allocator import limit_malloc_arenas

    limit_malloc_arenas()
    cli(prog_name="segpipe")
