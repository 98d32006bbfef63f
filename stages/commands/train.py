"""segpipe train: a U-Net from raw images and their encoded channels; resumable."""

from __future__ import annotations

from pathlib import Path

import click

from .common import clear_errors, config_option


def _load_set(
    raw_dir: str, label_dir: str, channels_dir: str | None, config: dict, what: str
) -> tuple[list, list[str]]:
    """Samples (normalised image, channels, foreground) of one folder pair; channels are read or
    encoded."""
    import numpy as np

    from ..io import InputError, pair_images, read_channels, read_labels, read_raw
    from ..nn.data import Sample, normalization_settings, normalize_image, pad_to_patch
    from ..nn.layout import channel_layout

    seg = config["PROBLEM"]["INSTANCE_SEG"]
    codes = list(seg["DATA_CHANNELS"])
    rank = 2 if config["PROBLEM"]["NDIM"] == "2D" else 3
    patch = tuple(config["DATA"]["PATCH_SIZE"][:-1])
    layout = channel_layout(codes, seg["DATA_CHANNELS_EXTRA_OPTS"], rank)
    in_channels = config["DATA"]["PATCH_SIZE"][-1]
    settings = normalization_settings(config["DATA"]["NORMALIZATION"])
    samples, names = [], []
    for raw_path, label_path in pair_images(raw_dir, label_dir):
        image, _ = read_raw(raw_path, rank)
        labels, _ = read_labels(label_path, rank)
        if labels.shape != image.shape[:-1]:
            raise InputError(
                f"{label_path}: label shape {labels.shape} differs from its raw image {raw_path} "
                f"{image.shape[:-1]}"
            )
        if image.shape[-1] != in_channels:
            raise InputError(
                f"{raw_path}: {image.shape[-1]} channel(s), but DATA.PATCH_SIZE "
                f"{config['DATA']['PATCH_SIZE']} says {in_channels}"
            )
        if not config["DATA"]["REFLECT_TO_COMPLETE_SHAPE"] and any(
            s < p for s, p in zip(labels.shape, patch)
        ):
            raise InputError(
                f"{raw_path}: shape {labels.shape} is smaller than DATA.PATCH_SIZE {patch} and "
                "DATA.REFLECT_TO_COMPLETE_SHAPE is false"
            )
        if channels_dir and not layout.reencode:
            channels_path = Path(channels_dir) / f"{label_path.stem}.tif"
            targets, found, _ = read_channels(channels_path)
            if found != list(layout.planes):
                raise InputError(
                    f"{channels_path}: channels {found}, but PROBLEM.INSTANCE_SEG.DATA_CHANNELS "
                    f"makes {list(layout.planes)}; encode again"
                )
            if targets.shape[1:] != labels.shape:
                raise InputError(
                    f"{channels_path}: shape {targets.shape[1:]} differs from its labels "
                    f"{label_path} {labels.shape}"
                )
        else:
            # R, A and E are encoded from the labels here and again from each augmented patch
            targets = layout.training_targets(labels)
        normalized = np.moveaxis(normalize_image(image, settings), -1, 0)
        padded_labels = pad_to_patch(labels[np.newaxis], patch)[0]
        samples.append(
            Sample(
                image=pad_to_patch(normalized, patch),
                targets=pad_to_patch(targets, patch),
                foreground=padded_labels > 0,
                labels=padded_labels if layout.reencode else None,
            )
        )
        names.append(f"{what}:{raw_path.name}:{label_path.name}")
    return samples, names


@click.command(name="train")
@click.option(
    "--raw",
    "raw_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Training raw images (DATA.TRAIN.PATH).",
)
@click.option(
    "--label",
    "label_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Training labels (DATA.TRAIN.GT_PATH).",
)
@click.option(
    "--channels",
    "channels_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Encoded channels from `segpipe encode`, one <label name>.tif per label [default: "
    "encode in memory].",
)
@click.option(
    "--val-raw",
    default=None,
    type=click.Path(file_okay=False),
    help="Validation raw images (with DATA.VAL.FROM_TRAIN false).",
)
@click.option(
    "--val-label", default=None, type=click.Path(file_okay=False), help="Validation labels."
)
@click.option(
    "--val-channels",
    default=None,
    type=click.Path(file_okay=False),
    help="Encoded validation channels [default: encode in memory].",
)
@click.option(
    "--out",
    "model_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Model folder: model.pt, model_last.pt, normalization.json, train_config.yaml.",
)
@click.option(
    "--log-csv",
    "log_csv",
    default=None,
    type=click.Path(dir_okay=False),
    help="Per-epoch CSV [default: <out>/train_log.csv].",
)
@click.option(
    "--chart",
    "chart_png",
    default=None,
    type=click.Path(dir_okay=False),
    help="Loss chart PNG [default: <out>/loss.png].",
)
@click.option("--seed", type=int, default=None, help="Random seed [default: SYSTEM.SEED].")
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="CPU threads for torch [default: torch's].",
)
@click.option("--fresh", is_flag=True, help="Ignore a resume state in <out>/resume and start over.")
@click.option(
    "--progress/--no-progress", default=True, show_default=True, help="Progress bar on stderr."
)
@config_option
@clear_errors
def command(
    raw_dir: str,
    label_dir: str,
    channels_dir: str | None,
    val_raw: str | None,
    val_label: str | None,
    val_channels: str | None,
    model_dir: str,
    log_csv: str | None,
    chart_png: str | None,
    seed: int | None,
    threads: int | None,
    fresh: bool,
    progress: bool,
    config_path: str | None,
) -> None:
    """Train on RAW/LABEL pairs (sorted order) with the TRAIN, MODEL, DATA and AUGMENTOR settings of
    --config.

    A killed run started again with the same arguments resumes after its last finished epoch.
    For several GPUs, launch it with `python -m torch.distributed.run --nproc_per_node N -m stages
    train ...`
    (the workflow does this when RUN.TRAIN_GPUS > 1).
    """
    if (val_raw is None) != (val_label is None):
        raise click.UsageError("give --val-raw and --val-label together")
    import torch

    from ..config import dump_yaml, stage_slice
    from ..io import atomic_output
    from ..nn.data import normalization_settings
    from ..nn.train import clear_resume_state, train_model
    from ..threads import limit_threads
    from .common import stage_config

    config = stage_config(config_path)
    if threads:
        torch.set_num_threads(threads)
    limit_threads(
        threads
    )  # the encoders re-encoding augmented patches (R, A, E, the distance transform)
    folder = Path(model_dir)
    if fresh:
        clear_resume_state(folder)
    samples, names = _load_set(raw_dir, label_dir, channels_dir, config, "train")
    val_samples = None
    if val_raw:
        val_samples, val_names = _load_set(val_raw, val_label, val_channels, config, "val")
        names += val_names
    elif not config["DATA"]["VAL"]["FROM_TRAIN"]:
        raise click.UsageError("DATA.VAL.FROM_TRAIN is false: give --val-raw and --val-label")
    result = train_model(
        samples,
        val_samples,
        config,
        model_dir=folder,
        log_csv=Path(log_csv or folder / "train_log.csv"),
        chart_png=Path(chart_png or folder / "loss.png"),
        names=names,
        normalization=normalization_settings(config["DATA"]["NORMALIZATION"]),
        seed=config["SYSTEM"]["SEED"] if seed is None else seed,
        progress=progress,
    )
    if not result.main:
        return  # the other processes of a distributed run leave the writing to the first
    with atomic_output(folder / "train_config.yaml") as temporary:
        temporary.write_text(dump_yaml(stage_slice(config, "train")))
    click.echo(
        f"{folder / 'model.pt'}: best validation loss {result.best_val_loss:.4f} at epoch "
        f"{result.best_epoch} of {result.epochs} "
        f"({result.seconds:.0f} "
        f"s{f', resumed after epoch {result.resumed_from}' if result.resumed_from else ''})"
    )
