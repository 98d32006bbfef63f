"""segpipe predict: images -> predicted patch cores and their positions (a .npz per image and
shard), many images per process so that the start-up (torch, the model) is paid once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from .common import (
    axes_for,
    axes_orders,
    chunk_block,
    clear_errors,
    config_option,
    model_option,
    ndim_of,
)


@dataclass(frozen=True)
class PredictSettings:
    ndim: int
    patch: tuple[int, ...]  # spatial
    padding: tuple[int, ...]
    overlap: tuple[float, ...]
    tta: bool
    batch_size: int
    full_image: bool = False  # TEST.FULL_IMG: the whole image in one pass, no patches
    axes: tuple = ()  # the splits' axes orders for Zarr/HDF5 images (common.axes_orders)
    #: TEST.BY_CHUNKS: (block size, blocks per job), else None
    blocks: tuple[tuple[int, ...], int] | None = None


def settings_from_config(config) -> PredictSettings:
    test = config["DATA"]["TEST"]
    block = chunk_block(config)
    return PredictSettings(
        ndim=ndim_of(config),
        patch=tuple(config["DATA"]["PATCH_SIZE"][:-1]),
        padding=tuple(test["PADDING"]),
        overlap=tuple(test["OVERLAP"]),
        tta=config["TEST"]["AUGMENTATION"],
        batch_size=config["TRAIN"]["BATCH_SIZE"],
        full_image=config["TEST"]["FULL_IMG"],
        axes=axes_orders(config),
        blocks=(block, config["TEST"]["BY_CHUNKS"]["BLOCKS_PER_JOB"]) if block else None,
    )


def whole_image_patch(shape: tuple[int, ...], multiple: tuple[int, ...]) -> tuple[int, ...]:
    """The one patch covering an image of ``shape``: each size rounded up to its multiple."""
    return tuple(-(-size // m) * m for size, m in zip(shape, multiple))


def error_path(patch_path: str | Path) -> Path:
    """Where ``predict --keep-going`` leaves the reason an image's patch file is missing."""
    return Path(patch_path).with_suffix(".error")


def _shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not of the form k/n", param_hint="--shard") from None
    if not 1 <= k <= n:
        raise click.BadParameter(f"{text!r}: k must lie in 1..n", param_hint="--shard")
    return k, n


def _outputs(paths: tuple[str, ...], out_dir: str | None) -> list[tuple[str, Path]]:
    """(image, patch file) pairs: IMAGE OUT, or IMAGE... with --out-dir DIR (DIR/<stem>.npz)."""
    if out_dir is None:
        if len(paths) != 2:
            raise click.UsageError(
                "give IMAGE OUT (one image), or IMAGE... --out-dir DIR (one .npz per image)"
            )
        return [(paths[0], Path(paths[1]))]
    from ..io import image_name

    stems: dict[str, str] = {}
    for path in paths:
        stem = image_name(path)
        if stem in stems:
            raise click.UsageError(f"{stems[stem]} and {path} would both write {stem}.npz")
        stems[stem] = path
    return [(path, Path(out_dir) / f"{stem}.npz") for stem, path in stems.items()]


@click.command(name="predict")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@model_option(
    "model.pt written by `segpipe train`, or a BioImage Model Zoo package (.zip or "
    "folder) written by `segpipe export`."
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Predict every image given into DIR/<image name>.npz (one process for all).",
)
@click.option(
    "--keep-going",
    is_flag=True,
    help="With --out-dir: an image that cannot be read leaves DIR/<image name>.error with the "
    "reason instead of failing the others (reconstruct reports it).",
)
@click.option(
    "--shard",
    default="1/1",
    show_default=True,
    help="Predict only share k of n of the patches (k/n).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=None,
    help="Patches per forward pass [default: TRAIN.BATCH_SIZE].",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="CPU threads for torch [default: torch's].",
)
@click.option(
    "--tta/--no-tta", default=None, help="Test-time augmentation [default: TEST.AUGMENTATION]."
)
@click.option(
    "--full-image/--patches",
    default=None,
    help="Predict the whole image in one pass, padded to what the network divides by, or in "
    "patches [default: TEST.FULL_IMG].",
)
@config_option
@clear_errors
def command(
    paths: tuple[str, ...],
    model_path: str,
    out_dir: str | None,
    keep_going: bool,
    shard: str,
    batch_size: int | None,
    threads: int | None,
    tta: bool | None,
    full_image: bool | None,
    config_path: str | None,
) -> None:
    """Predict the patches (DATA.PATCH_SIZE, DATA.TEST.PADDING/OVERLAP) of IMAGE into OUT (.npz),
    or of every IMAGE into --out-dir; with --full-image (TEST.FULL_IMG), each whole image as one
    patch. The model is loaded once for all images."""
    k, n = _shard(shard)
    outputs = _outputs(paths, out_dir)
    if keep_going and out_dir is None:
        raise click.UsageError("--keep-going needs --out-dir")
    from ..io import InputError, atomic_directory
    from .common import log, settings_for

    settings = settings_for("predict", config_path)
    model, meta, device, channels_last = load_for_inference(
        model_path, threads, settings.ndim if config_path is not None else None, config_path
    )
    if config_path is None:
        # no config: the model's own patch size, padding of an eighth, no overlap
        patch = tuple(meta["patch_size"][:-1])
        padding, overlap = tuple(p // 8 for p in patch), (0.0,) * len(patch)
    else:
        patch, padding, overlap = settings.patch, settings.padding, settings.overlap
    predictor = ImagePredictor(
        model=model,
        meta=meta,
        model_path=model_path,
        patch=tuple(patch),
        padding=tuple(padding),
        overlap=tuple(overlap),
        shard=(k, n),
        batch_size=batch_size or settings.batch_size,
        tta=settings.tta if tta is None else tta,
        full_image=settings.full_image if full_image is None else full_image,
        device=device,
        channels_last=channels_last,
        axes=settings.axes,
    )
    if out_dir is None:
        predictor.predict(*outputs[0])
        return
    failed = 0
    with atomic_directory(out_dir) as folder:
        for image_path, out_path in outputs:
            try:
                predictor.predict(image_path, folder / out_path.name)
            except InputError as error:
                if not keep_going:
                    raise
                failed += 1
                log.error("%s", error)
                error_path(folder / out_path.name).write_text(f"{error}\n")
    click.echo(f"{out_dir}: {len(outputs) - failed} of {len(outputs)} image(s) predicted")


def load_for_inference(
    model_path: str, threads: int | None, ndim: int | None = None, config_path: str | None = None
):
    """(model, card, device, channels_last): the model at ``model_path`` on the GPU when there
    is one, made ready for inference; ``ndim``: the config's rank, which the model must have."""
    import torch

    from ..nn.inference import prefers_channels_last, prepare_for_inference
    from ..nn.model import load_model
    from .common import log

    if threads:
        torch.set_num_threads(threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cpu":
        log.info(
            "CUDA is not available: predicting on the CPU with %d thread(s)",
            torch.get_num_threads(),
        )
    model, meta = load_model(model_path, device)
    rank = meta["ndim"]
    if ndim is not None and ndim != rank:
        raise click.ClickException(
            f"{model_path} is a {rank}D model but PROBLEM.NDIM of {config_path} is {ndim}D"
        )
    channels_last = prefers_channels_last(meta["spec"], device)
    prepare_for_inference(model, rank, channels_last=channels_last)
    return model, meta, device, channels_last


@dataclass(frozen=True)
class ImagePredictor:
    """A loaded model and the prediction settings, applied to one image after another."""

    model: Any
    meta: dict
    model_path: str
    patch: tuple[int, ...]
    padding: tuple[int, ...]
    overlap: tuple[float, ...]
    shard: tuple[int, int]
    batch_size: int
    tta: bool
    full_image: bool
    device: Any
    channels_last: bool
    axes: tuple = ()  # the splits' axes orders for Zarr/HDF5 images (common.axes_orders)

    def predict(self, image_path: str, out_path: str | Path) -> None:
        """Predict this shard of the patches of ``image_path`` and hand its blended rows to
        ``out_path`` (.npz for `segpipe reconstruct`), slab by slab."""
        from ..io import InputError, atomic_output, read_raw
        from ..nn.blending import SlabBlender, shard_rows
        from ..nn.handoff import ShardWriter
        from ..nn.normalization import normalize_image
        from ..nn.patches import patch_grid, shard_indices
        from ..nn.predict import iter_predicted_cores

        meta, rank = self.meta, self.meta["ndim"]
        axes = axes_for(self.axes, image_path) if self.axes else None
        image, info = read_raw(image_path, rank, axes)
        if image.shape[-1] != meta["spec"]["in_channels"]:
            raise InputError(
                f"{image_path}: {image.shape[-1]} channel(s) in a {rank}D image of shape "
                f"{image.shape[:-1]}, but the model {self.model_path} takes "
                f"{meta['spec']['in_channels']} (a 3D image for a 2D model, or a colour image "
                "for a grey one?)"
            )
        patch, padding, overlap = self.patch, self.padding, self.overlap
        if self.full_image:
            # the network's own multiple: its poolings (or UNETR's token size) along each axis
            patch = whole_image_patch(image.shape[:-1], tuple(self.model.multiple))
            padding, overlap = (0,) * rank, (0.0,) * rank
        grid = patch_grid(image.shape[:-1], patch, list(padding), list(overlap))
        # normalised in place (the raw image read is ours): one float32 copy of the image
        image = normalize_image(image, meta["normalization"], copy=False)
        k, n = self.shard
        indices = [int(i) for i in shard_indices(len(grid), k, n)]
        first, last = shard_rows(grid, indices)
        channels = len(meta["channels"])
        header = {
            "image": str(image_path),
            "image_shape": list(grid.image_shape),
            "core_size": list(grid.core_size),
            "overlap": list(overlap),
            "patch_size": list(patch),
            "padding": list(padding),
            "channels": meta["channels"],
            "channel_options": meta.get("channel_options", {}),
            "shard": [k, n],
            "patches": len(grid),
            "spacing": list(info.spacing) if info.spacing else None,
        }
        with atomic_output(out_path) as temporary:
            writer = ShardWriter(
                temporary, header, first, (last - first, channels, *grid.image_shape[1:])
            )
            blender = SlabBlender(grid, overlap, channels, lambda _, values: writer.write(values))
            for index, core in iter_predicted_cores(
                self.model,
                meta,
                image,
                grid,
                indices,
                batch_size=self.batch_size,
                tta=self.tta,
                device=self.device,
                channels_last=self.channels_last,
                normalized=True,
            ):
                blender.add(grid.starts[index], core)
            blender.finish()
            writer.close()
        click.echo(f"{out_path}: {len(indices)} of {len(grid)} patch(es) of {image_path}")
