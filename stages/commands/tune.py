"""segpipe tune: the decoder's thresholds chosen for the best F1 on the model's validation data."""

from __future__ import annotations

from dataclasses import dataclass

import click

from .common import clear_errors, config_option
from .decode import DecodeSettings
from .decode import settings_from_config as decode_settings
from .predict import PredictSettings
from .predict import settings_from_config as predict_settings


@dataclass(frozen=True)
class TuneSettings:
    predict: PredictSettings
    decode: DecodeSettings


def settings_from_config(config) -> TuneSettings:
    return TuneSettings(predict_settings(config), decode_settings(config))


def _predict_whole(model, meta, image, settings: PredictSettings, device, channels_last: bool):
    """(C, *spatial) channels of one channel-last image, patch by patch, blended."""
    import numpy as np

    from ..nn.patches import blend_cores, patch_grid
    from ..nn.predict import predict_cores

    grid = patch_grid(image.shape[:-1], settings.patch, settings.padding, settings.overlap)
    indices = list(range(len(grid)))
    cores = predict_cores(
        model,
        meta,
        image,
        grid,
        indices,
        batch_size=settings.batch_size,
        tta=settings.tta,
        device=device,
        channels_last=channels_last,
    )
    starts = np.asarray(grid.starts, dtype=np.int64).reshape(len(indices), len(settings.patch))
    return blend_cores(cores, starts, image.shape[:-1], grid.core_size, settings.overlap)


@click.command(name="tune")
@click.argument("model_path", type=click.Path())
@click.argument("validation_path", type=click.Path(dir_okay=False))
@click.argument("out_path", type=click.Path(dir_okay=False))
@click.option("--threads", type=click.IntRange(min=1), default=None, help="CPU threads of torch.")
@config_option
@clear_errors
def command(
    model_path: str,
    validation_path: str,
    out_path: str,
    threads: int | None,
    config_path: str | None,
) -> None:
    """Predict the validation data of VALIDATION_PATH (validation.json, written beside the model
    by `segpipe train`) with MODEL_PATH, search the decoder's thresholds for the best mean F1 at
    IoU 0.5, and write them to OUT_PATH (JSON), which `segpipe decode --tuned` applies."""
    import json
    from pathlib import Path

    import torch

    from ..decode import split_class_planes
    from ..decode.tune import ValidationImage, tune_thresholds
    from ..io import InputError, read_labels, read_raw, write_json
    from ..nn.inference import prefers_channels_last, prepare_for_inference
    from ..nn.model import load_model
    from .common import settings_for

    settings = settings_for("tune", config_path)
    if threads:
        torch.set_num_threads(threads)
    try:
        record = json.loads(Path(validation_path).read_text())
        entries, patch = record["images"], record["patch"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(
            f"{validation_path}: not a validation.json written by `segpipe train` ({error})"
        ) from None
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model, meta = load_model(model_path, device)
    rank = meta["ndim"]
    channels_last = prefers_channels_last(meta["spec"], device)
    prepare_for_inference(model, rank, channels_last=channels_last)
    images = []
    for entry in entries:
        raw, _ = read_raw(entry["raw"], rank)
        truth, _ = read_labels(entry["label"], rank)
        boxes = (
            [tuple(slice(s, s + p) for s, p in zip(start, patch)) for start in entry["cells"]]
            if entry["cells"] is not None
            else [tuple(slice(0, n) for n in truth.shape)]
        )
        for box in boxes:
            crop_truth = truth[box]
            if crop_truth.size == 0:
                continue
            channels = _predict_whole(
                model, meta, raw[box], settings.predict, device, channels_last
            )
            # thresholds shape the instances; a class head has nothing to tune
            channels, planes, _ = split_class_planes(channels, list(meta["channels"]))
            images.append(ValidationImage(channels, planes, crop_truth))
    if not images:
        raise InputError(f"{validation_path}: no validation image or cell to tune on")
    try:
        tuned = tune_thresholds(
            images,
            settings.decode.decoders,
            meta.get("channel_options") or settings.decode.channel_options,
            requested=settings.decode.requested,
        )
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    write_json(
        out_path,
        {
            "decoder": tuned.decoder,
            "thresholds": tuned.thresholds,
            "f1_before": tuned.f1_before,
            "f1_after": tuned.f1_after,
            "validation_images": len(images),
            "tried": [{"thresholds": t, "f1": f1} for t, f1 in tuned.tried],
        },
    )
    click.echo(
        f"{out_path}: {tuned.decoder} thresholds {tuned.thresholds}; mean F1@0.5 on "
        f"{len(images)} validation image(s) {tuned.f1_before:.3f} -> {tuned.f1_after:.3f}"
    )
