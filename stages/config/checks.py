"""Rules over several keys: each only checks, and names the keys it reads.

A check raises ConfigError naming the key at fault. Registered with :func:`check`, which
records the keys a check reads and the keys it reads them against, so that a stage's config
slice (:func:`stages.config.slices.slice_of`) holds whatever its checks need.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .defaults import FLOW_CODES
from .errors import ConfigError
from .keys import SEG, SHED


@dataclass(frozen=True)
class Check:
    """A rule over several keys: ``run`` raises ConfigError naming the key at fault.

    ``reads`` lists the keys it checks and ``context`` the keys it checks them against: a
    stage's config slice that holds one of ``reads`` holds them all and the context, so every
    slice passes the checks its full config passed (a slice holding only a context key, such
    as PROBLEM.NDIM, gets defaults that agree with it).
    """

    reads: tuple[str, ...]
    run: Callable[[dict], None]
    context: tuple[str, ...] = ()


CHECKS: list[Check] = []


def check(
    *reads: str, context: tuple[str, ...] = ()
) -> Callable[[Callable[[dict], None]], Callable[[dict], None]]:
    """Register a check of the dotted keys ``reads`` against the keys ``context``."""

    def register(function: Callable[[dict], None]) -> Callable[[dict], None]:
        CHECKS.append(Check(tuple(reads), function, tuple(context)))
        return function

    return register


@check(f"{SEG}.DATA_CHANNELS", f"{SEG}.INSTANCE_CREATION_PROCESS", context=("PROBLEM.NDIM",))
def _check_channels(cfg: dict) -> None:
    seg = cfg["PROBLEM"]["INSTANCE_SEG"]
    codes = seg["DATA_CHANNELS"]
    if len(set(codes)) != len(codes):
        raise ConfigError(f"{SEG}.DATA_CHANNELS: repeated code in {codes}")
    from ..channels import ENCODERS, check_combination  # light: numpy/scipy/numba only
    from ..decode import decoder_for

    for code in codes:
        if code not in ENCODERS:
            raise ConfigError(
                f"{SEG}.DATA_CHANNELS: channel {code!r} is not implemented yet "
                f"(available: {', '.join(ENCODERS)})"
            )
    try:
        check_combination(codes, 2 if cfg["PROBLEM"]["NDIM"] == "2D" else 3)
    except ValueError as error:
        raise ConfigError(f"{SEG}.DATA_CHANNELS: {error}") from None
    process = seg["INSTANCE_CREATION_PROCESS"]
    if process and process != decoder_for(codes):
        raise ConfigError(
            f"{SEG}.INSTANCE_CREATION_PROCESS: {process!r} cannot decode the channels {codes} "
            f"(they need {decoder_for(codes)!r})"
        )


@check(f"{SEG}.DATA_CHANNEL_WEIGHTS", context=(f"{SEG}.DATA_CHANNELS", "DATA.N_CLASSES"))
def _check_weights(cfg: dict) -> None:
    seg = cfg["PROBLEM"]["INSTANCE_SEG"]
    weights, codes = seg["DATA_CHANNEL_WEIGHTS"], seg["DATA_CHANNELS"]
    with_classes = cfg["DATA"]["N_CLASSES"] > 2
    if weights and len(weights) not in (len(codes), len(codes) + with_classes):
        head = " (and one more for the class head of DATA.N_CLASSES)" if with_classes else ""
        raise ConfigError(
            f"{SEG}.DATA_CHANNEL_WEIGHTS: {len(weights)} weight(s) for {len(codes)} channel(s) "
            f"{codes}: give one per channel{head}"
        )


#: the losses each kind of channel may take (BiaPy's names; ce is bce, mae is l1)
LOSSES_BY_KIND = {
    "binary": ("bce", "ce"),
    "regression": ("l1", "mae", "mse"),
    "embedding": ("embedseg",),
}


@check(f"{SEG}.DATA_CHANNELS_LOSSES", context=(f"{SEG}.DATA_CHANNELS",))
def _check_losses(cfg: dict) -> None:
    from ..channels import ENCODERS

    seg = cfg["PROBLEM"]["INSTANCE_SEG"]
    losses, codes = seg["DATA_CHANNELS_LOSSES"], seg["DATA_CHANNELS"]
    if not losses:
        return
    if len(losses) != len(codes):
        raise ConfigError(
            f"{SEG}.DATA_CHANNELS_LOSSES: {len(losses)} loss(es) for {len(codes)} channel(s) "
            f"{codes}: give one per channel, or none for each channel's own"
        )
    for code, loss in zip(codes, losses, strict=True):
        kind = ENCODERS[code].kind
        if loss not in LOSSES_BY_KIND[kind]:
            raise ConfigError(
                f"{SEG}.DATA_CHANNELS_LOSSES: {loss!r} for channel {code} not supported in "
                f"segpipe: a {kind} channel takes {' or '.join(LOSSES_BY_KIND[kind])}"
            )


#: BiaPy 3.7.1's Db value types segpipe lacks (norm is Db's norm true, raw its norm false,
#: omnipose its norm false with a background of -5)
DISTANCE_VALUE_TYPES = {
    "discretize": "Db is regressed; BiaPy's 10 distance bins learnt as classes are not offered",
}


@check(f"{SEG}.DATA_CHANNELS_EXTRA_OPTS", context=(f"{SEG}.DATA_CHANNELS", "PROBLEM.NDIM"))
def _check_channel_options(cfg: dict) -> None:
    from ..channels import ENCODERS

    seg = cfg["PROBLEM"]["INSTANCE_SEG"]
    codes = seg["DATA_CHANNELS"]
    for code, options in seg["DATA_CHANNELS_EXTRA_OPTS"].items():
        if code not in codes:
            raise ConfigError(
                f"{SEG}.DATA_CHANNELS_EXTRA_OPTS: options for {code!r}, which is not in "
                f"DATA_CHANNELS {codes}"
            )
        if code == "Db" and "val_type" in options:
            value = options["val_type"]
            why = DISTANCE_VALUE_TYPES.get(
                value, "BiaPy 3.7.1's are norm, raw, discretize, omnipose"
            )
            raise ConfigError(
                f"{SEG}.DATA_CHANNELS_EXTRA_OPTS.Db: val_type {value!r} not supported in "
                f"segpipe: {why}"
            )
        try:
            ENCODERS[code].resolve_options(options, cfg["PROBLEM"]["NDIM"])
        except ValueError as error:
            raise ConfigError(f"{SEG}.DATA_CHANNELS_EXTRA_OPTS.{code}: {error}") from None
    flows = {
        code: options.get("gradient_type", "cellpose")
        for code, options in seg["DATA_CHANNELS_EXTRA_OPTS"].items()
        if code in FLOW_CODES
    }
    if len(set(flows.values())) > 1:
        raise ConfigError(
            f"{SEG}.DATA_CHANNELS_EXTRA_OPTS: the flow channels are one vector field and need one "
            f"gradient_type, got {flows}"
        )


@check(
    f"{SHED}.SEED_CHANNELS",
    f"{SHED}.SEED_CHANNELS_THRESH",
    f"{SHED}.GROWTH_MASK_CHANNELS",
    f"{SHED}.GROWTH_MASK_CHANNELS_THRESH",
    f"{SHED}.TOPOGRAPHIC_SURFACE_CHANNEL",
    f"{SHED}.SEED_MORPH_SEQUENCE",
    f"{SHED}.SEED_MORPH_RADIUS",
    context=(f"{SEG}.DATA_CHANNELS",),
)
def _check_watershed(cfg: dict) -> None:
    seg = cfg["PROBLEM"]["INSTANCE_SEG"]
    codes, shed = seg["DATA_CHANNELS"], seg["WATERSHED"]
    for channels_key, thresh_key in (
        ("SEED_CHANNELS", "SEED_CHANNELS_THRESH"),
        ("GROWTH_MASK_CHANNELS", "GROWTH_MASK_CHANNELS_THRESH"),
    ):
        for code in shed[channels_key]:
            if code not in codes:
                raise ConfigError(
                    f"{SHED}.{channels_key}: {code!r} is not in DATA_CHANNELS {codes}"
                )
        if shed[thresh_key] and len(shed[thresh_key]) != len(shed[channels_key]):
            raise ConfigError(
                f"{SHED}.{thresh_key}: {len(shed[thresh_key])} value(s) for "
                f"{len(shed[channels_key])} channel(s) in {channels_key}"
            )
    surface = shed["TOPOGRAPHIC_SURFACE_CHANNEL"]
    if surface and surface not in codes:
        raise ConfigError(
            f"{SHED}.TOPOGRAPHIC_SURFACE_CHANNEL: {surface!r} is not in DATA_CHANNELS {codes}"
        )
    if len(shed["SEED_MORPH_SEQUENCE"]) != len(shed["SEED_MORPH_RADIUS"]):
        raise ConfigError(
            f"{SHED}.SEED_MORPH_RADIUS: needs one radius per SEED_MORPH_SEQUENCE entry"
        )


@check("DATA.PATCH_SIZE", "DATA.TEST.PADDING", "DATA.TEST.OVERLAP", context=("PROBLEM.NDIM",))
def _check_patches(cfg: dict) -> None:
    ndim = 2 if cfg["PROBLEM"]["NDIM"] == "2D" else 3
    patch = cfg["DATA"]["PATCH_SIZE"]
    if len(patch) != ndim + 1:
        raise ConfigError(
            f"DATA.PATCH_SIZE: {patch} does not fit PROBLEM.NDIM {cfg['PROBLEM']['NDIM']} "
            f"(expected {ndim} spatial sizes and the channel count)"
        )
    test = cfg["DATA"]["TEST"]
    for key in ("PADDING", "OVERLAP"):
        if len(test[key]) != ndim:
            raise ConfigError(
                f"DATA.TEST.{key}: {test[key]} needs {ndim} value(s), one per spatial axis"
            )
    for axis, (pad, size) in enumerate(zip(test["PADDING"], patch[:-1])):
        if 2 * pad >= size:
            raise ConfigError(
                f"DATA.TEST.PADDING: {test['PADDING']} leaves no patch core on axis {axis} of "
                f"DATA.PATCH_SIZE {patch}"
            )


PRE = "DATA.PREPROCESS"


@check(f"{PRE}.RESIZE.ENABLE", f"{PRE}.RESIZE.OUTPUT_SHAPE",
       context=("PROBLEM.NDIM", "DATA.PATCH_SIZE"))  # fmt: skip
def _check_resize(cfg: dict) -> None:
    resize = cfg["DATA"]["PREPROCESS"]["RESIZE"]
    if not resize["ENABLE"]:
        return
    ndim = 2 if cfg["PROBLEM"]["NDIM"] == "2D" else 3
    shape, patch = resize["OUTPUT_SHAPE"], cfg["DATA"]["PATCH_SIZE"][:-1]
    if len(shape) not in (ndim, ndim + 1):
        raise ConfigError(
            f"{PRE}.RESIZE.OUTPUT_SHAPE: {shape} needs one size per spatial axis of "
            f"PROBLEM.NDIM {cfg['PROBLEM']['NDIM']}"
        )
    if any(s < p for s, p in zip(shape, patch)):
        raise ConfigError(
            f"{PRE}.RESIZE.OUTPUT_SHAPE: {shape} is smaller than DATA.PATCH_SIZE {patch}"
        )


@check(f"{PRE}.MEDIAN_BLUR.ENABLE", f"{PRE}.MEDIAN_BLUR.KERNEL_SIZE", f"{PRE}.CLAHE.KERNEL_SIZE",
       f"{PRE}.CANNY.ENABLE", context=("PROBLEM.NDIM",))  # fmt: skip
def _check_preprocess_filters(cfg: dict) -> None:
    pre = cfg["DATA"]["PREPROCESS"]
    ndim = 2 if cfg["PROBLEM"]["NDIM"] == "2D" else 3
    size = pre["MEDIAN_BLUR"]["KERNEL_SIZE"]
    if pre["MEDIAN_BLUR"]["ENABLE"] and len(size) not in (ndim, ndim + 1):
        raise ConfigError(
            f"{PRE}.MEDIAN_BLUR.KERNEL_SIZE: {size} needs one size per axis of "
            f"PROBLEM.NDIM {cfg['PROBLEM']['NDIM']} (and the channel's)"
        )
    kernel = pre["CLAHE"]["KERNEL_SIZE"]
    if isinstance(kernel, list) and len(kernel) != ndim:
        raise ConfigError(f"{PRE}.CLAHE.KERNEL_SIZE: {kernel} needs one size per spatial axis")
    if pre["CANNY"]["ENABLE"] and ndim == 3:
        raise ConfigError(f"{PRE}.CANNY.ENABLE: Canny edges are for 2D images only")


@check(f"{PRE}.TEST", context=("TEST.BY_CHUNKS.ENABLE",))
def _check_preprocess_by_chunks(cfg: dict) -> None:
    if cfg["DATA"]["PREPROCESS"]["TEST"] and cfg["TEST"]["BY_CHUNKS"]["ENABLE"]:
        raise ConfigError(
            f"{PRE}.TEST: test images are preprocessed whole; with TEST.BY_CHUNKS preprocess the "
            "volumes beforehand"
        )


@check("DATA.TEST.RESOLUTION", context=("PROBLEM.NDIM",))
def _check_resolution(cfg: dict) -> None:
    ndim = 2 if cfg["PROBLEM"]["NDIM"] == "2D" else 3
    resolution = cfg["DATA"]["TEST"]["RESOLUTION"]
    if resolution and len(resolution) != ndim:
        raise ConfigError(
            f"DATA.TEST.RESOLUTION: {resolution} needs {ndim} value(s), one per spatial axis"
        )


@check("MODEL.FEATURE_MAPS", "MODEL.DROPOUT_VALUES", "MODEL.Z_DOWN", "MODEL.YX_DOWN")
def _check_model(cfg: dict) -> None:
    model = cfg["MODEL"]
    levels = len(model["FEATURE_MAPS"])
    if model["DROPOUT_VALUES"] and len(model["DROPOUT_VALUES"]) != levels:
        raise ConfigError(
            f"MODEL.DROPOUT_VALUES: {len(model['DROPOUT_VALUES'])} value(s) for {levels} levels "
            "of MODEL.FEATURE_MAPS"
        )
    for key in ("Z_DOWN", "YX_DOWN"):
        if model[key] and len(model[key]) != levels - 1:
            raise ConfigError(
                f"MODEL.{key}: needs {levels - 1} value(s) (one per pooling) for "
                f"MODEL.FEATURE_MAPS {model['FEATURE_MAPS']}"
            )


@check("MODEL.SOURCE", "MODEL.BMZ.SOURCE_MODEL_ID", context=("MODEL.LOAD_CHECKPOINT",))
def _check_model_source(cfg: dict) -> None:
    model = cfg["MODEL"]
    source = model["BMZ"]["SOURCE_MODEL_ID"]
    if model["SOURCE"] != "bmz":
        return
    if not source:
        raise ConfigError(
            "MODEL.BMZ.SOURCE_MODEL_ID: MODEL.SOURCE bmz needs the path of a BioImage Model Zoo "
            "package (.zip or folder) that `segpipe export` wrote"
        )
    if model["LOAD_CHECKPOINT"]:
        raise ConfigError(
            "MODEL.LOAD_CHECKPOINT: true with MODEL.SOURCE bmz names two models to start from; "
            "set one"
        )
    # a zoo nickname ("affable-shark"), a zoo id or a DOI ("10.5281/zenodo.5764892")
    if ("/" not in source and "." not in source) or re.match(r"10\.\d{4,}/", source):
        raise ConfigError(
            f"MODEL.BMZ.SOURCE_MODEL_ID: {source!r} is not a path; segpipe downloads nothing: "
            "download the package and give its .zip or folder"
        )


@check(
    "TEST.POST_PROCESSING.INSTANCE_REFINEMENT.OPERATIONS",
    "TEST.POST_PROCESSING.INSTANCE_REFINEMENT.VALUES",
)
def _check_refinement(cfg: dict) -> None:
    refinement = cfg["TEST"]["POST_PROCESSING"]["INSTANCE_REFINEMENT"]
    key = "TEST.POST_PROCESSING.INSTANCE_REFINEMENT.VALUES"
    if len(refinement["OPERATIONS"]) != len(refinement["VALUES"]):
        raise ConfigError(
            f"{key}: needs one value per OPERATIONS entry ('none' where none applies)"
        )
    for op, value in zip(refinement["OPERATIONS"], refinement["VALUES"]):
        needs_value = op in ("dilation", "erosion", "remove_small_objects", "remove_large_objects")
        if needs_value != isinstance(value, int):
            raise ConfigError(
                f"{key}: {op!r} takes {'an integer' if needs_value else 'none'}, got {value!r}"
            )


#: channels whose 2D planes mean the same in a stack of 2D images (no in-plane vectors, rays
#: or embeddings)
STACKABLE_CHANNELS = ("F", "B", "C", "P", "T", "D", "Db", "Dc", "Dn")


@check(
    "TEST.ANALIZE_2D_IMGS_AS_3D_STACK",
    context=("PROBLEM.NDIM", "PROBLEM.INSTANCE_SEG.DATA_CHANNELS"),
)
def _check_as_3d_stack(cfg: dict) -> None:
    if not cfg["TEST"]["ANALIZE_2D_IMGS_AS_3D_STACK"]:
        return
    if cfg["PROBLEM"]["NDIM"] != "2D":
        raise ConfigError(
            "TEST.ANALIZE_2D_IMGS_AS_3D_STACK stacks 2D test images; PROBLEM.NDIM is "
            f"{cfg['PROBLEM']['NDIM']}"
        )
    codes = cfg["PROBLEM"]["INSTANCE_SEG"]["DATA_CHANNELS"]
    other = [c for c in codes if c not in STACKABLE_CHANNELS]
    if other:
        raise ConfigError(
            f"TEST.ANALIZE_2D_IMGS_AS_3D_STACK: the channels {other} are 2D vectors, rays or "
            "embeddings, which a stack of 2D images cannot decode in 3D; it takes "
            f"{', '.join(STACKABLE_CHANNELS)}"
        )


@check("MODEL.CONV_LAYERS", context=("MODEL.FEATURE_MAPS",))
def _check_conv_layers(cfg: dict) -> None:
    layers, levels = cfg["MODEL"]["CONV_LAYERS"], len(cfg["MODEL"]["FEATURE_MAPS"])
    if layers and len(layers) != levels:
        raise ConfigError(
            f"MODEL.CONV_LAYERS has {len(layers)} value(s) for {levels} levels (MODEL.FEATURE_MAPS)"
        )


@check(
    "MODEL.ARCHITECTURE",
    context=("MODEL.FEATURE_MAPS", "MODEL.Z_DOWN", "MODEL.YX_DOWN"),
)
def _check_architecture_shape(cfg: dict) -> None:
    model = cfg["MODEL"]
    if model["ARCHITECTURE"] == "resunet++" and len(model["FEATURE_MAPS"]) < 3:
        raise ConfigError("MODEL.ARCHITECTURE resunet++ needs at least 3 MODEL.FEATURE_MAPS")
    if model["ARCHITECTURE"] == "multiresunet" and model["Z_DOWN"] and len(model["Z_DOWN"]) != 4:
        raise ConfigError(
            "MODEL.Z_DOWN: MultiResUNet has 4 poolings whatever MODEL.FEATURE_MAPS says; give 4 "
            f"values, got {model['Z_DOWN']}"
        )
    if model["ARCHITECTURE"] == "multiresunet" and any(f != 2 for f in model["YX_DOWN"]):
        raise ConfigError(
            f"MODEL.YX_DOWN {model['YX_DOWN']}: MultiResUNet always pools Y and X by 2 (as BiaPy's)"
        )


@check("DATA.TRAIN.FILTER_SAMPLES", "DATA.VAL.FILTER_SAMPLES")
def _check_sample_filters(cfg: dict) -> None:
    from ..nn.sample_filter import sample_filter

    for split in ("TRAIN", "VAL"):
        chosen = cfg["DATA"][split]["FILTER_SAMPLES"]
        if not chosen["ENABLE"]:
            continue
        if not chosen["PROPS"]:
            raise ConfigError(f"DATA.{split}.FILTER_SAMPLES.ENABLE needs conditions in PROPS")
        try:
            sample_filter(chosen["PROPS"], chosen["VALUES"], chosen["SIGNS"])
        except ValueError as error:
            raise ConfigError(f"DATA.{split}.FILTER_SAMPLES: {error}") from None


@check(
    "DATA.VAL.CROSS_VAL",
    "DATA.VAL.CROSS_VAL_FOLD",
    context=("DATA.VAL.FROM_TRAIN", "DATA.VAL.CROSS_VAL_NFOLD"),
)
def _check_cross_validation(cfg: dict) -> None:
    val = cfg["DATA"]["VAL"]
    if not val["CROSS_VAL"]:
        return
    if not val["FROM_TRAIN"]:
        raise ConfigError(
            "DATA.VAL.CROSS_VAL folds the training images: it needs DATA.VAL.FROM_TRAIN true"
        )
    if val["CROSS_VAL_FOLD"] > val["CROSS_VAL_NFOLD"]:
        raise ConfigError(
            f"DATA.VAL.CROSS_VAL_FOLD {val['CROSS_VAL_FOLD']} is past the "
            f"{val['CROSS_VAL_NFOLD']} folds of DATA.VAL.CROSS_VAL_NFOLD"
        )


@check("DATA.TEST.ROI_MASK")
def _check_roi_mask(cfg: dict) -> None:
    roi = cfg["DATA"]["TEST"]["ROI_MASK"]
    if roi["ENABLE"] and not roi["PATH"]:
        raise ConfigError("DATA.TEST.ROI_MASK.ENABLE needs the mask (or folder) in PATH")


@check("MODEL.FREEZE_LAYERS_MATCHING")
def _check_frozen_layers(cfg: dict) -> None:
    import re

    for index, pattern in enumerate(cfg["MODEL"]["FREEZE_LAYERS_MATCHING"]):
        try:
            re.compile(pattern)
        except re.error as error:
            raise ConfigError(
                f"MODEL.FREEZE_LAYERS_MATCHING[{index}] {pattern!r} is not a regex: {error}"
            ) from None


#: the networks built of conv blocks whose layer order MODEL.CONV_BLOCK_ORDER sets (BiaPy's list)
PRE_ACTIVATION_ARCHITECTURES = (
    "unet", "resunet", "resunet++", "seunet", "resunet_se", "attention_unet",
)  # fmt: skip


@check("MODEL.CONV_BLOCK_ORDER", context=("MODEL.ARCHITECTURE",))
def _check_conv_block_order(cfg: dict) -> None:
    model = cfg["MODEL"]
    if (
        model["CONV_BLOCK_ORDER"] == "norm_act_conv"
        and model["ARCHITECTURE"] not in PRE_ACTIVATION_ARCHITECTURES
    ):
        raise ConfigError(
            f"MODEL.CONV_BLOCK_ORDER norm_act_conv (pre-activation) applies to "
            f"{', '.join(PRE_ACTIVATION_ARCHITECTURES)}; MODEL.ARCHITECTURE "
            f"{model['ARCHITECTURE']} has no such blocks (keep conv_norm_act)"
        )


@check("MODEL.HRNET", context=("MODEL.ARCHITECTURE",))
def _check_hrnet(cfg: dict) -> None:
    hrnet = cfg["MODEL"]["HRNET"]
    if cfg["MODEL"]["ARCHITECTURE"] != "hrnet" or hrnet["VARIANT"] != "custom":
        return
    stages = hrnet["NUM_STAGES"]
    for key in ("NUM_MODULES", "NUM_BRANCHES", "NUM_BLOCKS", "NUM_CHANNELS"):
        if len(hrnet[key]) != stages:
            raise ConfigError(
                f"MODEL.HRNET.{key} has {len(hrnet[key])} entries for NUM_STAGES {stages}"
            )
    for key in ("Z_DOWN", "YX_DOWN"):
        if hrnet[key] and len(hrnet[key]) != stages:
            raise ConfigError(f"MODEL.HRNET.{key} needs one value per stage ({stages})")
    previous = 1  # the stem's one branch
    for stage, branches in enumerate(hrnet["NUM_BRANCHES"]):
        for key in ("NUM_BLOCKS", "NUM_CHANNELS"):
            if len(hrnet[key][stage]) != branches:
                raise ConfigError(
                    f"MODEL.HRNET.{key}[{stage}] needs one value per branch ({branches})"
                )
        if branches < previous:
            raise ConfigError(
                f"MODEL.HRNET.NUM_BRANCHES {hrnet['NUM_BRANCHES']}: a stage cannot have fewer "
                "branches than the one before"
            )
        previous = branches


@check("MODEL.STUNET", context=("MODEL.ARCHITECTURE", "PROBLEM.NDIM"))
def _check_stunet(cfg: dict) -> None:
    stunet = cfg["MODEL"]["STUNET"]
    if cfg["MODEL"]["ARCHITECTURE"] != "stunet" or stunet["VARIANT"] != "custom":
        return
    stages = len(stunet["DIMS"])
    if len(stunet["DEPTH"]) != stages or len(stunet["CONV_KERNEL_SIZES"]) != stages:
        raise ConfigError(
            "MODEL.STUNET.DEPTH and CONV_KERNEL_SIZES need one entry per MODEL.STUNET.DIMS entry "
            f"({stages})"
        )
    if len(stunet["POOL_OP_KERNEL_SIZES"]) != stages - 1:
        raise ConfigError(
            f"MODEL.STUNET.POOL_OP_KERNEL_SIZES needs {stages - 1} entries (one per stage after "
            "the first)"
        )
    ndim = 3 if cfg["PROBLEM"]["NDIM"] == "3D" else 2
    for key in ("POOL_OP_KERNEL_SIZES", "CONV_KERNEL_SIZES"):
        if any(len(sizes) != ndim for sizes in stunet[key]):
            raise ConfigError(f"MODEL.STUNET.{key}: {ndim} values per stage in {ndim}D")
    if any(k % 2 == 0 for sizes in stunet["CONV_KERNEL_SIZES"] for k in sizes):
        raise ConfigError("MODEL.STUNET.CONV_KERNEL_SIZES must be odd")


@check(
    "MODEL.VIT_TOKEN_SIZE",
    "MODEL.VIT_EMBED_DIM",
    "MODEL.VIT_NUM_HEADS",
    "MODEL.VIT_NUM_LAYERS",
    "MODEL.UNETR_VIT_HIDD_MULT",
    "MODEL.UNETR_VIT_MODEL",
    context=("MODEL.ARCHITECTURE", "DATA.PATCH_SIZE"),
)
def _check_unetr(cfg: dict) -> None:
    model = cfg["MODEL"]
    if model["ARCHITECTURE"] != "unetr":
        return
    token = 16 if model["UNETR_VIT_MODEL"] != "custom" else model["VIT_TOKEN_SIZE"]
    if token & (token - 1):
        raise ConfigError(f"MODEL.VIT_TOKEN_SIZE must be a power of two for UNETR, got {token}")
    spatial = cfg["DATA"]["PATCH_SIZE"][:-1]
    if any(size % token for size in spatial):
        raise ConfigError(
            f"DATA.PATCH_SIZE {spatial}: UNETR needs each size a multiple of its token size "
            f"{token} (MODEL.VIT_TOKEN_SIZE)"
        )
    if model["UNETR_VIT_MODEL"] != "custom":
        return
    if model["VIT_EMBED_DIM"] % model["VIT_NUM_HEADS"]:
        raise ConfigError(
            f"MODEL.VIT_EMBED_DIM {model['VIT_EMBED_DIM']} must be a multiple of "
            f"MODEL.VIT_NUM_HEADS {model['VIT_NUM_HEADS']}"
        )
    levels = token.bit_length() - 1
    mult = model["UNETR_VIT_HIDD_MULT"]
    if mult > 0 and mult * (levels - 1) > model["VIT_NUM_LAYERS"]:
        raise ConfigError(
            f"MODEL.UNETR_VIT_HIDD_MULT {mult}: skip connections from layer {mult * (levels - 1)} "
            f"of a transformer of {model['VIT_NUM_LAYERS']} (MODEL.VIT_NUM_LAYERS)"
        )


@check("MODEL.ISOTROPY", context=("MODEL.FEATURE_MAPS",))
def _check_isotropy(cfg: dict) -> None:
    isotropy, levels = cfg["MODEL"]["ISOTROPY"], len(cfg["MODEL"]["FEATURE_MAPS"])
    if isinstance(isotropy, list) and isotropy and len(isotropy) != levels:
        raise ConfigError(
            f"MODEL.ISOTROPY has {len(isotropy)} value(s) for {levels} levels (MODEL.FEATURE_MAPS)"
        )


@check("DATA.N_CLASSES", "LOSS.CLASS_WEIGHTS")
def _check_classes(cfg: dict) -> None:
    classes, weights = cfg["DATA"]["N_CLASSES"], cfg["LOSS"]["CLASS_WEIGHTS"]
    if weights and classes <= 2:
        raise ConfigError(
            "LOSS.CLASS_WEIGHTS weighs the classes of the class head, which DATA.N_CLASSES of "
            f"{classes} does not have (more than 2 classes, the background counted, make one)"
        )
    if weights and len(weights) != classes:
        raise ConfigError(
            f"LOSS.CLASS_WEIGHTS has {len(weights)} weight(s) for DATA.N_CLASSES {classes}: give "
            "one per class, the background (class 0) first"
        )


_POST = "TEST.POST_PROCESSING"
_REMOVE = f"{_POST}.MEASURE_PROPERTIES.REMOVE_BY_PROPERTIES"


@check(
    f"{_POST}.MEDIAN_FILTER",
    f"{_POST}.MEDIAN_FILTER_AXIS",
    f"{_POST}.MEDIAN_FILTER_SIZE",
    context=("PROBLEM.NDIM", "TEST.ANALIZE_2D_IMGS_AS_3D_STACK"),
)
def _check_median_filters(cfg: dict) -> None:
    post = cfg["TEST"]["POST_PROCESSING"]
    axes, sizes = post["MEDIAN_FILTER_AXIS"], post["MEDIAN_FILTER_SIZE"]
    if not post["MEDIAN_FILTER"]:
        return
    if not axes:
        raise ConfigError(f"{_POST}.MEDIAN_FILTER_AXIS: MEDIAN_FILTER is on, list the filters")
    if len(sizes) != len(axes):
        raise ConfigError(
            f"{_POST}.MEDIAN_FILTER_SIZE: needs one size per MEDIAN_FILTER_AXIS entry "
            f"({len(axes)}), got {len(sizes)}"
        )
    if cfg["PROBLEM"]["NDIM"] == "2D" and not cfg["TEST"]["ANALIZE_2D_IMGS_AS_3D_STACK"]:
        across = [a for a in axes if "z" in a]
        if across:
            raise ConfigError(
                f"{_POST}.MEDIAN_FILTER_AXIS: {across} filter(s) across Z need 3D data "
                "(PROBLEM.NDIM 3D, or TEST.ANALIZE_2D_IMGS_AS_3D_STACK to filter the stack of "
                "2D test images)"
            )


@check(
    f"{_REMOVE}.ENABLE",
    f"{_REMOVE}.PROPS",
    f"{_REMOVE}.VALUES",
    f"{_REMOVE}.SIGNS",
    context=("PROBLEM.NDIM",),
)
def _check_removal_conditions(cfg: dict) -> None:
    remove = cfg["TEST"]["POST_PROCESSING"]["MEASURE_PROPERTIES"]["REMOVE_BY_PROPERTIES"]
    props, values, signs = remove["PROPS"], remove["VALUES"], remove["SIGNS"]
    if not remove["ENABLE"]:
        return
    if not props:
        raise ConfigError(f"{_REMOVE}.PROPS: REMOVE_BY_PROPERTIES is on, give its conditions")
    for name, other in (("VALUES", values), ("SIGNS", signs)):
        if [len(group) for group in other] != [len(group) for group in props]:
            raise ConfigError(
                f"{_REMOVE}.{name}: must have the shape of PROPS "
                f"{[len(group) for group in props]} (one entry per property), got "
                f"{[len(group) for group in other]}"
            )
    if cfg["PROBLEM"]["NDIM"] == "3D" and any("elongation" in group for group in props):
        raise ConfigError(f"{_REMOVE}.PROPS: elongation is measured in 2D only; use sphericity")


@check(
    "DATA.VAL.FROM_TRAIN",
    "DATA.VAL.PATH",
    "DATA.VAL.GT_PATH",
    context=("DATA.VAL.INPUT_ZARR_MULTIPLE_DATA",),
)
def _check_validation_folder(cfg: dict) -> None:
    val = cfg["DATA"]["VAL"]
    labels_given = val["GT_PATH"] or val["INPUT_ZARR_MULTIPLE_DATA"]
    if not val["FROM_TRAIN"] and not (val["PATH"] and labels_given):
        raise ConfigError(
            "DATA.VAL.PATH: with DATA.VAL.FROM_TRAIN false, set DATA.VAL.PATH and DATA.VAL.GT_PATH"
        )


@check(
    "DATA.TRAIN.PROBABILITY_MAP",
    "DATA.TRAIN.W_FOREGROUND",
    "DATA.TRAIN.W_BACKGROUND",
    context=("DATA.TRAIN.IN_MEMORY",),
)
def _check_probability_map(cfg: dict) -> None:
    train = cfg["DATA"]["TRAIN"]
    if not train["PROBABILITY_MAP"]:
        return
    if not train["IN_MEMORY"]:
        raise ConfigError(
            "DATA.TRAIN.PROBABILITY_MAP: the map is made from the whole label images; set "
            "DATA.TRAIN.IN_MEMORY true (images read from disk are not held whole)"
        )
    if train["W_FOREGROUND"] + train["W_BACKGROUND"] <= 0:
        raise ConfigError(
            "DATA.TRAIN.W_FOREGROUND: with W_BACKGROUND, at least one share must be above 0"
        )


_MULTIPLE = "INPUT_ZARR_MULTIPLE_DATA"


@check(
    *(f"DATA.{split}.{_MULTIPLE}{part}" for split in ("TRAIN", "VAL", "TEST")
      for part in ("", "_RAW_PATH", "_GT_PATH")),
    context=("DATA.TEST.LOAD_GT",),
)  # fmt: skip
def _check_zarr_multiple_data(cfg: dict) -> None:
    for split in ("TRAIN", "VAL", "TEST"):
        data = cfg["DATA"][split]
        if not data[_MULTIPLE]:
            continue
        needed = ["_RAW_PATH"] + (["_GT_PATH"] if split != "TEST" or data["LOAD_GT"] else [])
        for part in needed:
            if not data[f"{_MULTIPLE}{part}"].strip(" ./"):
                raise ConfigError(
                    f"DATA.{split}.{_MULTIPLE}{part}: set the array inside each container "
                    f"(such as volumes.raw) with DATA.{split}.{_MULTIPLE} true"
                )


def warnings_for(cfg: dict) -> list[str]:
    """Warnings for values that are valid but not acted on as asked (none at present: every
    value the schema accepts is acted on, or documented as having no effect)."""
    return []
