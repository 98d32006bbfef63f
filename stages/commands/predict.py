"""segpipe predict: one image -> predicted patch cores and their positions (a .npz per shard)."""

from __future__ import annotations

from dataclasses import dataclass

import click

from .common import clear_errors, config_option, ndim_of


@dataclass(frozen=True)
class PredictSettings:
    ndim: int
    patch: tuple[int, ...]  # spatial
    padding: tuple[int, ...]
    overlap: tuple[float, ...]
    tta: bool
    batch_size: int
    full_image: bool = False  # TEST.FULL_IMG: the whole image in one pass, no patches


def settings_from_config(config) -> PredictSettings:
    test = config["DATA"]["TEST"]
    return PredictSettings(
        ndim=ndim_of(config),
        patch=tuple(config["DATA"]["PATCH_SIZE"][:-1]),
        padding=tuple(test["PADDING"]),
        overlap=tuple(test["OVERLAP"]),
        tta=config["TEST"]["AUGMENTATION"],
        batch_size=config["TRAIN"]["BATCH_SIZE"],
        full_image=config["TEST"]["FULL_IMG"],
    )


def whole_image_patch(shape: tuple[int, ...], multiple: tuple[int, ...]) -> tuple[int, ...]:
    """The one patch covering an image of ``shape``: each size rounded up to its multiple."""
    return tuple(-(-size // m) * m for size, m in zip(shape, multiple))


def _shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not of the form k/n", param_hint="--shard") from None
    if not 1 <= k <= n:
        raise click.BadParameter(f"{text!r}: k must lie in 1..n", param_hint="--shard")
    return k, n


@click.command(name="predict")
@click.argument("image_path", type=click.Path(dir_okay=False))
@click.argument("out_path", type=click.Path(dir_okay=False))
@click.option(
    "--model",
    "model_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="model.pt written by `segpipe train`.",
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
    image_path: str,
    out_path: str,
    model_path: str,
    shard: str,
    batch_size: int | None,
    threads: int | None,
    tta: bool | None,
    full_image: bool | None,
    config_path: str | None,
) -> None:
    """Predict the patches of IMAGE_PATH (DATA.PATCH_SIZE, DATA.TEST.PADDING/OVERLAP) into OUT_PATH
    (.npz); with --full-image (TEST.FULL_IMG), the whole image as one patch."""
    k, n = _shard(shard)
    import json

    import numpy as np
    import torch

    from ..io import InputError, atomic_output, read_raw
    from ..nn.inference import prefers_channels_last, prepare_for_inference
    from ..nn.model import load_model
    from ..nn.patches import patch_grid, shard_indices
    from ..nn.predict import predict_cores
    from .common import log, settings_for

    settings = settings_for("predict", config_path)
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
    channels_last = prefers_channels_last(meta["spec"], device)
    prepare_for_inference(model, rank, channels_last=channels_last)
    if config_path is None:
        # no config: the model's own patch size, padding of an eighth, no overlap
        patch = tuple(meta["patch_size"][:-1])
        padding, overlap = tuple(p // 8 for p in patch), (0.0,) * len(patch)
    elif settings.ndim != rank:
        raise click.ClickException(
            f"{model_path} is a {rank}D model but PROBLEM.NDIM of {config_path} is {settings.ndim}D"
        )
    else:
        patch, padding, overlap = settings.patch, settings.padding, settings.overlap
    image, info = read_raw(image_path, rank)
    if image.shape[-1] != meta["spec"]["in_channels"]:
        raise InputError(
            f"{image_path}: {image.shape[-1]} channel(s) in a {rank}D image of shape "
            f"{image.shape[:-1]}, but the model {model_path} takes {meta['spec']['in_channels']} "
            "(a 3D image for a 2D model, or a colour image for a grey one?)"
        )
    if settings.full_image if full_image is None else full_image:
        # the network's own multiple: its poolings (or UNETR's token size) along each axis
        patch = whole_image_patch(image.shape[:-1], tuple(model.multiple))
        padding, overlap = (0,) * rank, (0.0,) * rank
    grid = patch_grid(image.shape[:-1], patch, list(padding), list(overlap))
    indices = shard_indices(len(grid), k, n)
    cores = predict_cores(
        model,
        meta,
        image,
        grid,
        indices,
        batch_size=batch_size or settings.batch_size,
        tta=settings.tta if tta is None else tta,
        device=device,
        channels_last=channels_last,
    )
    header = {
        "image": str(image_path),
        "image_shape": list(image.shape[:-1]),
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
        with open(temporary, "wb") as handle:
            np.savez(
                handle,
                cores=cores,
                starts=np.asarray([grid.starts[i] for i in indices], dtype=np.int64).reshape(
                    len(indices), len(patch)
                ),
                indices=np.asarray(indices, dtype=np.int64),
                header=np.asarray(json.dumps(header)),
            )
    click.echo(f"{out_path}: {len(indices)} of {len(grid)} patch(es) of {image_path}")
