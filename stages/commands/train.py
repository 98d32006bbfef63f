"""segpipe train: a U-Net from raw images and their encoded channels; resumable."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .common import (
    axes_for,
    axes_orders,
    clear_errors,
    config_option,
    inside_for,
    inside_paths,
    label_folder,
    ndim_of,
    starting_model,
)

if TYPE_CHECKING:  # numpy-only, but `segpipe train --help` imports nothing it does not need
    from ..nn.settings import TrainSettings


@dataclass(frozen=True)
class TrainCommandSettings:
    """What segpipe train takes from a config: the loop's settings and the data around it."""

    loop: TrainSettings  # its model spec holds the dimensionality and the input channel count
    normalization: dict
    seed: int
    reflect_to_complete_shape: bool
    #: validation folders (DATA.VAL.PATH/GT_PATH) when DATA.VAL.FROM_TRAIN is false, else None
    val_folders: tuple[str, str] | None
    #: a model to start from (MODEL.LOAD_CHECKPOINT with PATHS.CHECKPOINT_FILE), else None
    init_model: str | None = None
    #: MODEL.SKIP_UNMATCHED_LAYERS: take only the starting model's tensors that fit
    skip_unmatched_layers: bool = False
    #: the splits' axes orders for Zarr/HDF5 images (common.axes_orders)
    axes: tuple = ()
    #: the arrays inside the containers of folders read with INPUT_ZARR_MULTIPLE_DATA
    #: (common.inside_paths)
    inside: tuple = ()
    #: DATA.TRAIN / DATA.VAL IN_MEMORY: false reads patches from disk
    in_memory: tuple[bool, bool] = (True, True)
    #: with patches read from disk, the labels read around each to encode it
    encoding_halo: tuple[int, ...] = ()
    #: DATA.FILTER_BY_IMAGE: the (train, val folder) filters that leave out whole images (the
    #: loop's filters then are those of patches and validation cells only)
    image_filters: tuple = (None, None)

    def patch_filters(self, what: str) -> list:
        """The patch and cell filters that test the samples of a split ('train' or 'val')."""
        chosen = [self.loop.val_filter]
        if what == "train":
            chosen = [self.loop.train_filter] + (chosen if self.val_folders is None else [])
        return [f for f in chosen if f is not None]


def normalization_from_config(section) -> dict:
    """Plain-dict normalisation settings from DATA.NORMALIZATION (saved with the model)."""
    clip, fixed = section["PERC_CLIP"], section["ZERO_MEAN_UNIT_VAR"]
    return {
        "type": section["TYPE"],
        "perc_clip": bool(clip["ENABLE"]),
        "lower_perc": float(clip["LOWER_PERC"]),
        "upper_perc": float(clip["UPPER_PERC"]),
        "mean": fixed["MEAN_VAL"],
        "std": fixed["STD_VAL"],
    }


def isotropy_per_level(isotropy: bool | list, levels: int) -> tuple[bool, ...]:
    """MODEL.ISOTROPY as one boolean per level (empty: all isotropic, the network's default)."""
    if isinstance(isotropy, bool):
        return (isotropy,) * levels
    return tuple(bool(v) for v in isotropy)


#: UNETR_VIT_MODEL's named backbones (BiaPy's sizes; randomly initialised)
NAMED_VITS = {
    "vit_base_patch16": {"token": 16, "embed": 768, "layers": 12, "heads": 12, "mlp": 4.0},
    "vit_large_patch16": {"token": 16, "embed": 1024, "layers": 24, "heads": 16, "mlp": 4.0},
}


def vit_sizes(model: dict) -> dict:
    """UNETR's transformer sizes: the MODEL.VIT_* keys, or those of a named UNETR_VIT_MODEL."""
    named = NAMED_VITS.get(model["UNETR_VIT_MODEL"])
    if named is None:
        named = {
            "token": model["VIT_TOKEN_SIZE"],
            "embed": model["VIT_EMBED_DIM"],
            "layers": model["VIT_NUM_LAYERS"],
            "heads": model["VIT_NUM_HEADS"],
            "mlp": model["VIT_MLP_RATIO"],
        }
    return {
        "vit_token_size": int(named["token"]),
        "vit_embed_dim": int(named["embed"]),
        "vit_num_layers": int(named["layers"]),
        "vit_num_heads": int(named["heads"]),
        "vit_mlp_ratio": float(named["mlp"]),
    }


def hrnet_and_stunet_shapes(hrnet: dict, stunet: dict) -> dict:
    """The ModelSpec fields of MODEL.HRNET and MODEL.STUNET."""

    def nested(lists: list) -> tuple:
        return tuple(tuple(int(v) for v in inner) for inner in lists)

    return {
        "hrnet_variant": hrnet["VARIANT"],
        "hrnet_modules": tuple(hrnet["NUM_MODULES"]),
        "hrnet_branches": tuple(hrnet["NUM_BRANCHES"]),
        "hrnet_blocks": nested(hrnet["NUM_BLOCKS"]),
        "hrnet_channels": nested(hrnet["NUM_CHANNELS"]),
        "hrnet_block_type": hrnet["BLOCK_TYPE"],
        "hrnet_z_down": tuple(hrnet["Z_DOWN"]),
        "hrnet_yx_down": tuple(hrnet["YX_DOWN"]),
        "hrnet_head": hrnet["HEAD_TYPE"],
        "stunet_variant": stunet["VARIANT"],
        "stunet_depth": tuple(stunet["DEPTH"]),
        "stunet_dims": tuple(stunet["DIMS"]),
        "stunet_pools": nested(stunet["POOL_OP_KERNEL_SIZES"]),
        "stunet_kernels": nested(stunet["CONV_KERNEL_SIZES"]),
    }


def augment_settings(augmentor: dict):
    """The AUGMENTOR section as AugmentSettings; None when augmentation is off."""
    from ..nn.augment.settings import NAMES, AugmentSettings

    if not augmentor["ENABLE"]:
        return None

    def pair(key: str) -> tuple:
        return tuple(augmentor[key])

    return AugmentSettings(
        probabilities={
            name: float(augmentor[f"{name.upper()}_PROB"])
            for name in NAMES
            if augmentor[name.upper()]
        },
        rotation_range=pair("RANDOM_ROT_RANGE"),
        zoom_range=pair("ZOOM_RANGE"),
        zoom_in_z=augmentor["ZOOM_IN_Z"],
        shear_range=pair("SHEAR_RANGE"),
        shift_range=pair("SHIFT_RANGE"),
        affine_mode=augmentor["AFFINE_MODE"],
        elastic_alpha=pair("E_ALPHA"),
        elastic_sigma=float(augmentor["E_SIGMA"]),
        elastic_mode=augmentor["E_MODE"],
        gaussian_sigma=pair("G_SIGMA"),
        median_kernel=pair("MB_KERNEL"),
        motion_kernel=pair("MOTB_K_RANGE"),
        gamma=pair("GC_GAMMA"),
        brightness_factor=pair("BRIGHTNESS_FACTOR"),
        contrast_factor=pair("CONTRAST_FACTOR"),
        dropout_range=pair("DROP_RANGE"),
        cutout_iterations=pair("COUT_NB_ITERATIONS"),
        cutout_size=pair("COUT_SIZE"),
        cutout_value=float(augmentor["COUT_CVAL"]),
        cutout_labels=augmentor["COUT_APPLY_TO_MASK"],
        cutblur_size=pair("CBLUR_SIZE"),
        cutblur_down=pair("CBLUR_DOWN_RANGE"),
        cutblur_inside=augmentor["CBLUR_INSIDE"],
        cutmix_size=pair("CMIX_SIZE"),
        cutnoise_scale=pair("CNOISE_SCALE"),
        cutnoise_iterations=pair("CNOISE_NB_ITERATIONS"),
        cutnoise_size=pair("CNOISE_SIZE"),
        misalignment_displacement=int(augmentor["MS_DISPLACEMENT"]),
        misalignment_rotate_ratio=float(augmentor["MS_ROTATE_RATIO"]),
        missing_sections_probability=float(augmentor["MISSP_CHANNEL_PB"]),
        missing_sections_iterations=pair("MISSP_ITERATIONS"),
        grid_ratio=float(augmentor["GRID_RATIO"]),
        grid_period=pair("GRID_D_RANGE"),
        grid_rotate=float(augmentor["GRID_ROTATE"]),
        grid_invert=augmentor["GRID_INVERT"],
        gaussian_noise_mean=float(augmentor["GAUSSIAN_NOISE_MEAN"]),
        gaussian_noise_var=float(augmentor["GAUSSIAN_NOISE_VAR"]),
        gaussian_noise_from_image=augmentor["GAUSSIAN_NOISE_USE_INPUT_IMG_MEAN_AND_VAR"],
        salt_amount=float(augmentor["SALT_AMOUNT"]),
        pepper_amount=float(augmentor["PEPPER_AMOUNT"]),
        salt_and_pepper_amount=float(augmentor["SALT_AND_PEPPER_AMOUNT"]),
        salt_and_pepper_salt=float(augmentor["SALT_AND_PEPPER_PROP"]),
        samples=int(augmentor["AUG_NUM_SAMPLES"]) if augmentor["AUG_SAMPLES"] else 0,
        samples_grid=augmentor["DRAW_GRID"],
    )


def settings_from_config(config) -> TrainCommandSettings:
    from ..channels import channel_planes
    from ..config import whole
    from ..nn.settings import ModelSpec, TrainSettings

    seg, data, train, model = (
        config["PROBLEM"]["INSTANCE_SEG"],
        config["DATA"],
        config["TRAIN"],
        config["MODEL"],
    )
    ndim = ndim_of(config)
    n_classes = int(data["N_CLASSES"])
    codes = tuple(seg["DATA_CHANNELS"])
    options = whole(seg["DATA_CHANNELS_EXTRA_OPTS"])
    patch = tuple(data["PATCH_SIZE"])
    augment = augment_settings(config["AUGMENTOR"])
    scheduler = train["LR_SCHEDULER"]
    train_filter = sample_filter_of(data["TRAIN"]["FILTER_SAMPLES"])
    val_filter = sample_filter_of(data["VAL"]["FILTER_SAMPLES"])
    by_image = bool(data["FILTER_BY_IMAGE"])
    loop = TrainSettings(
        codes=codes,
        channel_options=options,
        losses=tuple(seg["DATA_CHANNELS_LOSSES"]),
        model=ModelSpec(
            ndim=ndim,
            in_channels=int(patch[-1]),
            out_channels=len(channel_planes(list(codes), options, ndim))
            + (n_classes if n_classes > 2 else 0),
            architecture=model["ARCHITECTURE"],
            feature_maps=tuple(model["FEATURE_MAPS"]),
            norm=model["NORMALIZATION"],
            activation=model["ACTIVATION"],
            dropout=tuple(model["DROPOUT_VALUES"]),
            upsample=model["UPSAMPLE_LAYER"],
            kernel=int(model["KERNEL_SIZE"]),
            z_down=tuple(model["Z_DOWN"]),
            yx_down=tuple(model["YX_DOWN"]),
            larger_io=bool(model["LARGER_IO"]),
            isotropy=isotropy_per_level(model["ISOTROPY"], len(model["FEATURE_MAPS"])),
            conv_layers=tuple(model["CONV_LAYERS"]),
            conv_block_order=model["CONV_BLOCK_ORDER"],
            patch=tuple(patch[:-1]),
            **vit_sizes(model),
            unetr_num_filters=int(model["UNETR_VIT_NUM_FILTERS"]),
            unetr_hidden_mult=int(model["UNETR_VIT_HIDD_MULT"]),
            convnext_sd_prob=float(model["CONVNEXT_SD_PROB"]),
            convnext_layer_scale=float(model["CONVNEXT_LAYER_SCALE"]),
            convnext_stem_kernel=int(model["CONVNEXT_STEM_K_SIZE"]),
            **hrnet_and_stunet_shapes(model["HRNET"], model["STUNET"]),
        ),
        patch=patch[:-1],
        channel_weights=tuple(seg["DATA_CHANNEL_WEIGHTS"]),
        # BiaPy 3.7's LOSS.CLASS_REBALANCE and the older key under INSTANCE_SEG do the same
        rebalance=bool(seg["CLASS_REBALANCE_WITHIN_CHANNELS"])
        or config["LOSS"]["CLASS_REBALANCE"] in (True, "auto"),
        n_classes=n_classes,
        class_weights=tuple(float(w) for w in config["LOSS"]["CLASS_WEIGHTS"]),
        batch_size=train["BATCH_SIZE"],
        epochs=train["EPOCHS"],
        patience=train["PATIENCE"],
        optimizer=train["OPTIMIZER"],
        lr=train["LR"],
        weight_decay=train["W_DECAY"],
        betas=tuple(float(b) for b in train["OPT_BETAS"][0]),
        gradient_clip=float(train["GRADIENT_CLIP_NORM"]),
        scheduler=scheduler["NAME"],
        warmup_epochs=scheduler["WARMUP_COSINE_DECAY_EPOCHS"],
        min_lr=scheduler["MIN_LR"],
        plateau_factor=scheduler["REDUCEONPLATEAU_FACTOR"],
        plateau_patience=scheduler["REDUCEONPLATEAU_PATIENCE"],
        replicate=data["TRAIN"]["REPLICATE"],
        steps_per_epoch=train["STEPS_PER_EPOCH"],
        val_split=data["VAL"]["SPLIT_TRAIN"],
        cross_val=(
            (data["VAL"]["CROSS_VAL_NFOLD"], data["VAL"]["CROSS_VAL_FOLD"])
            if data["VAL"]["CROSS_VAL"]
            else None
        ),
        augment=augment,
        compile=bool(model["COMPILE"]),
        bf16=bool(train["BF16"]),
        frozen_layers=tuple(model["FREEZE_LAYERS_MATCHING"]),
        train_filter=None if by_image else train_filter,
        # cells held out of the training images are tested one by one, even by image
        val_filter=val_filter if not by_image or data["VAL"]["FROM_TRAIN"] else None,
        workers=config["SYSTEM"]["NUM_WORKERS"],
        center_weights=(
            (float(data["TRAIN"]["W_FOREGROUND"]), float(data["TRAIN"]["W_BACKGROUND"]))
            if data["TRAIN"]["PROBABILITY_MAP"]
            else None
        ),
    )
    val = data["VAL"]
    return TrainCommandSettings(
        loop=loop,
        normalization=normalization_from_config(data["NORMALIZATION"]),
        seed=config["SYSTEM"]["SEED"],
        reflect_to_complete_shape=data["REFLECT_TO_COMPLETE_SHAPE"],
        val_folders=None if val["FROM_TRAIN"] else (val["PATH"], label_folder(val)),
        init_model=starting_model(config) or None,
        skip_unmatched_layers=bool(model["SKIP_UNMATCHED_LAYERS"]),
        axes=axes_orders(config),
        inside=inside_paths(config),
        in_memory=(data["TRAIN"]["IN_MEMORY"], val["IN_MEMORY"]),
        encoding_halo=tuple(data["TRAIN"]["ENCODING_HALO"]) or tuple(loop.patch),
        image_filters=(
            train_filter if by_image else None,
            val_filter if by_image and not val["FROM_TRAIN"] else None,
        ),
    )


def sample_filter_of(section):
    """The :class:`~stages.nn.sample_filter.SampleFilter` of a DATA.<split>.FILTER_SAMPLES
    section, None when off (checked with the config)."""
    from ..nn.sample_filter import sample_filter

    if not section["ENABLE"]:
        return None
    return sample_filter(
        section["PROPS"], section["VALUES"], section["SIGNS"], normalized=section["NORM_BEFORE"]
    )


def _load_set(
    raw_dir: str,
    label_dir: str,
    channels_dir: str | None,
    settings: TrainCommandSettings,
    what: str,
) -> tuple[list, list[tuple[str, Path]]]:
    """Samples (normalised image, channels, foreground) of one folder pair, and the files read.

    Channels are read from ``channels_dir`` or encoded; the files come as ``(role, path)``
    pairs, whose contents decide whether a resume state fits.
    """
    import numpy as np

    from ..io import (
        InputError,
        image_name,
        pair_images,
        read_channels,
        read_labels_and_classes,
        read_raw,
    )
    from ..nn.data import Sample, pad_to_patch
    from ..nn.layout import channel_layout, class_targets
    from ..nn.normalization import normalize_image
    from .common import log

    loop = settings.loop
    rank = loop.model.ndim
    patch = tuple(loop.patch)
    layout = channel_layout(list(loop.codes), loop.channel_options, rank, loop.n_classes)
    encoded_planes = list(layout.planes[: len(layout.planes) - layout.class_planes])
    in_channels = loop.model.in_channels
    samples, files = [], []
    image_filter = settings.image_filters[what == "val"]
    patch_filters = settings.patch_filters(what)
    keep_raw = any(f.needs_raw for f in patch_filters)
    keep_ids = any(f.needs_labels for f in patch_filters)
    if not settings.in_memory[what == "val"]:
        return _lazy_set(raw_dir, label_dir, settings, what, layout)
    inside = inside_for(settings.inside, raw_dir)
    for raw_path, label_path in pair_images(raw_dir, label_dir, *inside):
        image, _ = read_raw(
            raw_path, rank, axes_for(settings.axes, raw_path) if settings.axes else None
        )
        labels, classes, _ = read_labels_and_classes(
            label_path,
            rank,
            axes_for(settings.axes, label_path, label=True) if settings.axes else None,
        )
        if layout.class_planes and classes is None:
            raise InputError(
                f"{label_path}: DATA.N_CLASSES is {loop.n_classes}, so label images need two "
                "channels, instance ids then class ids, channel last ("
                + ("(Y, X, 2))" if rank == 2 else "(Z, Y, X, 2))")
            )
        if labels.shape != image.shape[:-1]:
            raise InputError(
                f"{label_path}: label shape {labels.shape} differs from its raw image {raw_path} "
                f"{image.shape[:-1]}"
            )
        if image.shape[-1] != in_channels:
            raise InputError(
                f"{raw_path}: {image.shape[-1]} channel(s), but DATA.PATCH_SIZE "
                f"{(*patch, in_channels)} says {in_channels}"
            )
        if not settings.reflect_to_complete_shape and any(
            s < p for s, p in zip(labels.shape, patch)
        ):
            raise InputError(
                f"{raw_path}: shape {labels.shape} is smaller than DATA.PATCH_SIZE {patch} and "
                "DATA.REFLECT_TO_COMPLETE_SHAPE is false"
            )
        files += [(f"{what} raw", raw_path), (f"{what} labels", label_path)]
        keep_labels = layout.reencode or (loop.augment is not None and loop.augment.changes_labels)
        if channels_dir and not layout.reencode:
            channels_path = Path(channels_dir) / f"{image_name(label_path)}.tif"
            files.append((f"{what} channels", channels_path))
            targets, found, _ = read_channels(channels_path)
            if found != encoded_planes:
                raise InputError(
                    f"{channels_path}: channels {found}, but PROBLEM.INSTANCE_SEG.DATA_CHANNELS "
                    f"makes {encoded_planes}; encode again"
                )
            if targets.shape[1:] != labels.shape:
                raise InputError(
                    f"{channels_path}: shape {targets.shape[1:]} differs from its labels "
                    f"{label_path} {labels.shape}"
                )
            if layout.class_planes:
                try:
                    targets = np.concatenate(
                        [targets, class_targets(labels, classes, loop.n_classes)]
                    )
                except ValueError as error:
                    raise InputError(f"{label_path}: {error}") from None
        else:
            # R, A and E are encoded from the labels here and again from each augmented patch
            try:
                targets = layout.training_targets(labels, classes)
            except ValueError as error:
                raise InputError(f"{label_path}: {error}") from None
        normalized = np.moveaxis(normalize_image(image, settings.normalization), -1, 0)
        if image_filter is not None and image_filter.leaves_out(
            normalized if image_filter.normalized else image, labels
        ):
            log.info("%s: left out by DATA.%s.FILTER_SAMPLES", raw_path, what.upper())
            continue
        padded_labels = pad_to_patch(labels[np.newaxis], patch)[0]
        samples.append(
            Sample(
                image=pad_to_patch(normalized, patch),
                targets=pad_to_patch(targets, patch),
                foreground=padded_labels > 0,
                labels=padded_labels if keep_labels else None,
                classes=pad_to_patch(classes[np.newaxis], patch)[0]
                if keep_labels and layout.class_planes
                else None,
                raw=pad_to_patch(np.moveaxis(image, -1, 0), patch) if keep_raw else None,
                filter_labels=padded_labels if keep_ids else None,
            )
        )
    if not samples:
        raise InputError(
            f"DATA.{what.upper()}.FILTER_SAMPLES leaves out every image of {raw_dir}: loosen "
            "its conditions"
        )
    return samples, files


def _lazy_set(raw_dir: str, label_dir: str, settings, what: str, layout):
    """Samples read from disk patch by patch (DATA.<split>.IN_MEMORY false), and the files."""
    from ..image_regions import float_slabs, open_raw_regions
    from ..io import InputError, pair_images
    from ..nn.data import Sample
    from ..nn.lazy_samples import (
        EncodedRegions,
        ForegroundRegions,
        LabelRegions,
        NormalizedRegions,
        RawRegions,
    )
    from ..nn.normalization import image_normalization
    from .common import log

    loop = settings.loop
    rank, patch = loop.model.ndim, tuple(loop.patch)
    keep_labels = layout.reencode or (loop.augment is not None and loop.augment.changes_labels)
    planes = len(layout.planes)
    samples, files = [], []
    if settings.image_filters[what == "val"] is not None:
        raise InputError(
            f"DATA.FILTER_BY_IMAGE with DATA.{what.upper()}.IN_MEMORY false: images read from "
            "disk are filtered patch by patch (set FILTER_BY_IMAGE false)"
        )
    patch_filters = settings.patch_filters(what)
    keep_raw = any(f.needs_raw for f in patch_filters)
    keep_ids = any(f.needs_labels for f in patch_filters)
    inside = inside_for(settings.inside, raw_dir)
    for raw_path, label_path in pair_images(raw_dir, label_dir, *inside):
        axes = axes_for(settings.axes, raw_path) if settings.axes else None
        label_axes = axes_for(settings.axes, label_path, label=True) if settings.axes else None
        raw, _ = open_raw_regions(raw_path, rank, axes)
        labels, _ = open_raw_regions(label_path, rank, label_axes)
        where = f"{label_path} (DATA.{what.upper()}.IN_MEMORY false)"
        if layout.class_planes or labels.shape[-1] != 1:
            raise InputError(f"{where}: label images with classes are read whole: set IN_MEMORY")
        if labels.dtype.kind not in "ui":
            raise InputError(f"{label_path}: labels of dtype {labels.dtype} are not integers")
        if labels.shape[:-1] != raw.shape[:-1]:
            raise InputError(
                f"{label_path}: label shape {labels.shape[:-1]} differs from its raw image "
                f"{raw_path} {raw.shape[:-1]}"
            )
        if raw.shape[-1] != loop.model.in_channels:
            raise InputError(
                f"{raw_path}: {raw.shape[-1]} channel(s), but DATA.PATCH_SIZE "
                f"{(*patch, loop.model.in_channels)} says {loop.model.in_channels}"
            )
        if any(s < p for s, p in zip(raw.shape[:-1], patch)):
            raise InputError(f"{where}: shape {raw.shape[:-1]} is smaller than a patch {patch}")
        normalization = image_normalization(float_slabs(raw, raw_path), settings.normalization)
        label_regions = LabelRegions(labels)

        def encode(region, path=label_path):
            try:
                return layout.training_targets(region, None)
            except ValueError as error:
                raise InputError(f"{path}: {error}") from None

        samples.append(
            Sample(
                image=NormalizedRegions(raw, normalization),
                targets=EncodedRegions(label_regions, encode, planes, settings.encoding_halo),
                foreground=ForegroundRegions(label_regions),
                labels=label_regions if keep_labels else None,
                raw=RawRegions(raw) if keep_raw else None,
                filter_labels=label_regions if keep_ids else None,
            )
        )
        files += [(f"{what} raw", raw_path), (f"{what} labels", label_path)]
        log.info("%s: read patch by patch from disk (DATA.%s.IN_MEMORY false)", raw_path,
                 what.upper())  # fmt: skip
    return samples, files


def _write_augmentation_examples(folder: Path, samples: list, settings, seed: int) -> None:
    """AUGMENTOR.AUG_SAMPLES: augmented training patches in ``folder`` (first process only)."""
    import os

    augment = settings.loop.augment
    if augment is None or augment.samples <= 0 or os.environ.get("RANK", "0") != "0":
        return
    from ..nn.augment.examples import write_examples
    from ..nn.layout import channel_layout

    loop = settings.loop
    layout = channel_layout(list(loop.codes), loop.channel_options, loop.model.ndim, loop.n_classes)
    written = write_examples(folder, samples, loop.patch, augment, layout.planes, seed)
    click.echo(f"{folder}: {written} augmented training patch(es) (AUGMENTOR.AUG_SAMPLES)")


#: the validation images (or cells of training images) of a model, in its folder
VALIDATION_FILE = "validation.json"


def validation_record(files: list, outcome, patch: tuple[int, ...]) -> dict:
    """What the model was validated on: the validation folder's images whole, or the held-out
    cells of the training images (start corners and the patch size)."""
    val_pairs = _pairs(files, "val")
    if val_pairs:
        images = [{"raw": raw, "label": label, "cells": None} for raw, label in val_pairs]
    else:
        images = [
            {"raw": raw, "label": label, "cells": [list(start) for start in cells]}
            for (raw, label), cells in zip(_pairs(files, "train"), outcome.validation_cells)
            if cells
        ]
    return {"patch": list(patch), "images": images}


def _pairs(files: list, what: str) -> list[tuple[str, str]]:
    raws = [str(path) for kind, path in files if kind == f"{what} raw"]
    labels = [str(path) for kind, path in files if kind == f"{what} labels"]
    return list(zip(raws, labels))


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
@click.option(
    "--aug-dir",
    "aug_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Augmented training patches to look at (AUGMENTOR.AUG_SAMPLES) [default: <out>/aug].",
)
@click.option("--seed", type=int, default=None, help="Random seed [default: SYSTEM.SEED].")
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="CPU threads for torch [default: torch's].",
)
@click.option(
    "--init-model",
    default=None,
    type=click.Path(),
    help="A segpipe model.pt or exported BioImage Model Zoo package to fine-tune [default: "
    "PATHS.CHECKPOINT_FILE when MODEL.LOAD_CHECKPOINT, MODEL.BMZ.SOURCE_MODEL_ID when "
    "MODEL.SOURCE is bmz].",
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
    aug_dir: str | None,
    seed: int | None,
    threads: int | None,
    init_model: str | None,
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

    from ..config import dump_yaml
    from ..io import atomic_output, write_json
    from ..nn.checkpoints import files_digest
    from ..nn.run import initial_weights_for, train_in_folder
    from ..threads import limit_threads
    from . import stage_slice
    from .common import stage_config

    config = stage_config(config_path)
    settings = settings_from_config(config)
    if threads:
        torch.set_num_threads(threads)
    # the encoders re-encoding augmented patches (R, A, E, the distance transform)
    limit_threads(threads)
    folder = Path(model_dir)
    if val_raw is None and settings.val_folders is not None:
        # DATA.VAL.FROM_TRAIN false: the config's validation folders, unless given here
        val_raw, val_label = settings.val_folders
    samples, files = _load_set(raw_dir, label_dir, channels_dir, settings, "train")
    val_samples = None
    if val_raw:
        val_samples, val_files = _load_set(val_raw, val_label, val_channels, settings, "val")
        files += val_files
    _write_augmentation_examples(
        Path(aug_dir) if aug_dir else folder / "aug",
        samples,
        settings,
        settings.seed if seed is None else seed,
    )
    init_model = init_model or settings.init_model
    initial_weights = None
    if init_model:
        initial_weights, layout = initial_weights_for(
            Path(init_model), settings.loop, settings.skip_unmatched_layers
        )
        # the fine-tuned network is built as the starting model's was
        model = replace(settings.loop.model, layout=layout)
        settings = replace(settings, loop=replace(settings.loop, model=model))
        # a package folder: its description holds the hash of each of its files
        digest_of = Path(init_model) / "rdf.yaml" if Path(init_model).is_dir() else init_model
        files.append(("initial model", Path(digest_of)))
    outcome = train_in_folder(
        samples,
        val_samples,
        settings.loop,
        folder=folder,
        inputs_digest=files_digest(files),
        initial_weights=initial_weights,
        normalization=settings.normalization,
        seed=settings.seed if seed is None else seed,
        log_csv=Path(log_csv or folder / "train_log.csv"),
        chart_png=Path(chart_png or folder / "loss.png"),
        fresh=fresh,
        progress=progress,
    )
    if not outcome.main:
        return  # the other processes of a distributed run leave the writing to the first
    with atomic_output(folder / "train_config.yaml") as temporary:
        temporary.write_text(dump_yaml(stage_slice(config, "train")))
    write_json(folder / VALIDATION_FILE, validation_record(files, outcome, settings.loop.patch))
    resumed = f", resumed after epoch {outcome.resumed_from}" if outcome.resumed_from else ""
    click.echo(
        f"{folder / 'model.pt'}: best validation loss {outcome.best_val_loss:.4f} at epoch "
        f"{outcome.best_epoch} of {outcome.epochs} ({outcome.seconds:.0f} s{resumed})"
    )
