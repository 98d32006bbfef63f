"""Older BiaPy keys read with their BiaPy 3.7 meaning, each noted once as "read X as Y".

BiaPy moves keys on load (its configuration update for configs written by earlier
versions): the watershed options once written directly under PROBLEM.INSTANCE_SEG now
live in its WATERSHED section, the DATA_MW_TH_* thresholds became per-channel seed and
growth-mask lists, old DATA_CHANNELS strings became code lists, and a few sections were
reshaped. This module does the same on the raw mapping, before anything is validated.
"""

from __future__ import annotations

import copy
from typing import Any

from ..nn.augment.settings import NAMES as AUGMENTATIONS
from .keys import SEG, get, set_key

#: keys that moved from PROBLEM.INSTANCE_SEG into its WATERSHED section (old -> new name)
_INTO_WATERSHED = {
    "SEED_MORPH_SEQUENCE": "SEED_MORPH_SEQUENCE",
    "SEED_MORPH_RADIUS": "SEED_MORPH_RADIUS",
    "ERODE_AND_DILATE_GROWTH_MASK": "ERODE_AND_DILATE_GROWTH_MASK",
    # BiaPy 3.0-3.4's name (its GUI wrote it), which 3.7.1's update no longer knows: the same
    # erosion and dilation of the foreground the watershed grows in
    "ERODE_AND_DILATE_FOREGROUND": "ERODE_AND_DILATE_GROWTH_MASK",
    "FORE_EROSION_RADIUS": "FORE_EROSION_RADIUS",
    "FORE_DILATION_RADIUS": "FORE_DILATION_RADIUS",
    "DATA_CHECK_MW": "DATA_CHECK_MW",
    "DATA_REMOVE_BEFORE_MW": "DATA_REMOVE_BEFORE_MW",
    "DATA_REMOVE_SMALL_OBJ_BEFORE": "DATA_REMOVE_SMALL_OBJ_BEFORE",
    "WATERSHED_BY_2D_SLICES": "BY_2D_SLICES",
}
#: keys BiaPy 3.7 may write as a list (one value per parameter group) that segpipe reads once
_ONE_VALUE_LISTS = ("TRAIN.OPTIMIZER", "TRAIN.LR", "TRAIN.W_DECAY", "TRAIN.LR_SCHEDULER.MIN_LR")
#: old DATA_MW_TH_* threshold -> the channels it applied to, in the order BiaPy tries them
_SEED_THRESHOLDS = (
    ("DATA_MW_TH_BINARY_MASK", ("F",)),
    ("DATA_MW_TH_CONTOUR", ("C",)),
    ("DATA_MW_TH_DISTANCE", ("Dc", "D", "Db")),
    ("DATA_MW_TH_POINTS", ("P",)),
)
#: older names of BiaPy's HRNet, its width in the name (3.7.1: hrnet and MODEL.HRNET.VARIANT)
_HRNET_NAMES = ("hrnet18", "hrnet32", "hrnet48", "hrnet64")
#: pooling factors whose all-zero placeholder BiaPy replaces with 2s on load
_AUTO_FACTORS = ("MODEL.Z_DOWN", "MODEL.YX_DOWN", "MODEL.HRNET.Z_DOWN", "MODEL.HRNET.YX_DOWN")
#: letters of an old DATA_CHANNELS string and what they mean in BiaPy 3.7 (ndim -> codes)
_OLD_LETTERS = {
    "B": {2: ["F"], 3: ["F"]},
    "C": {2: ["C"], 3: ["C"]},
    "P": {2: ["P"], 3: ["P"]},
    "T": {2: ["T"], 3: ["T"]},
    "A": {2: ["A"], 3: ["A"]},
    "D": {2: ["Db"], 3: ["Db"]},
    "Dv2": {2: ["D"], 3: ["D"]},
    "F": {2: ["H", "V"], 3: ["H", "V", "Z"]},  # the old 'F' was the flows, not the foreground
    # BiaPy's legacy mask, B + C: the foreground segpipe's F already is (see below)
    "M": {2: [], 3: []},
}


_REMOVE = "TEST.POST_PROCESSING.MEASURE_PROPERTIES.REMOVE_BY_PROPERTIES"
#: BiaPy's older per-axis median filters: key -> the axes of the filter it becomes
_OLD_MEDIAN_FILTERS = {"Z_FILTERING": "z", "YZ_FILTERING": "yz"}
#: the window BiaPy gave them when their _SIZE key was not set
_OLD_MEDIAN_SIZE = 5

#: keys BiaPy once read under DATA and 3.7.1 moves into DATA.TRAIN
_INTO_DATA_TRAIN = ("EXTRACT_RANDOM_PATCH", "PROBABILITY_MAP", "W_FOREGROUND", "W_BACKGROUND")

#: keys BiaPy once read under TEST.BY_CHUNKS and 3.7.1 moves into DATA.TEST
_OUT_OF_BY_CHUNKS = (
    "INPUT_IMG_AXES_ORDER", "INPUT_MASK_AXES_ORDER", "INPUT_ZARR_MULTIPLE_DATA",
    *(f"INPUT_ZARR_MULTIPLE_DATA_{k}_PATH"
      for k in ("RAW", "GT", "ID", "PARTNERS", "LOCATIONS", "RESOLUTION")),
)  # fmt: skip

#: older keys BiaPy 3.7.1's update code drops: read as nothing
_DROPPED = (
    *(f"AUGMENTOR.{k}" for k in (
        "BRIGHTNESS_EM", "BRIGHTNESS_EM_FACTOR", "BRIGHTNESS_EM_MODE", "BRIGHTNESS_MODE",
        "CONTRAST_EM", "CONTRAST_EM_FACTOR", "CONTRAST_EM_MODE", "CONTRAST_MODE",
    )),
    "DATA.NORMALIZATION.APPLICATION_MODE", "DATA.NORMALIZATION.CUSTOM_MODE",
    "DATA.NORMALIZATION.MEASURE_BY", "DATA.TEST.ARGMAX_TO_OUTPUT", "DATA.VAL.BINARY_MASKS",
    "MODEL.LOAD_MODEL_FROM_CHECKPOINT", "MODEL.LOAD_CHECKPOINT_ONLY_WEIGHTS", "TRAIN.ACCUM_ITER",
    "TEST.BY_CHUNKS.FORMAT", "TEST.BY_CHUNKS.WORKFLOW_PROCESS.INSTANCE_SEG_HALO",
    *(f"{SEG}.SYNAPSES.{k}" for k in (
        "NORMALIZE_DISTANCES", "POSTSITE_DILATION", "POSTSITE_DILATION_DISTANCE_CHANNELS",
    )),
)  # fmt: skip
#: older keys BiaPy 3.7.1's update code renames: old -> new
_RENAMED = {
    "MODEL.CONVNEXT_LAYERS": "MODEL.CONV_LAYERS",
    "MODEL.UNETR_DEC_ACTIVATION": "MODEL.ACTIVATION",
    "MODEL.UNETR_DEC_KERNEL_SIZE": "MODEL.KERNEL_SIZE",
    "MODEL.BMZ.SOURCE_MODEL_DOI": "MODEL.BMZ.SOURCE_MODEL_ID",
    "TEST.DET_IGNORE_POINTS_OUTSIDE_BOX": "TEST.EVAL_BORDER_CROP",
    **{f"MODEL.HRNET_{w}": "MODEL.HRNET" for w in (64, 48, 32, 18)},
    **{f"DATA.{key}": f"DATA.TRAIN.{key}" for key in _INTO_DATA_TRAIN},
    **{f"DATA.{split}.MASK_PATH": f"DATA.{split}.GT_PATH" for split in ("TRAIN", "VAL", "TEST")},
    # the test data's axes and Zarr paths once lived under TEST.BY_CHUNKS
    **{f"TEST.BY_CHUNKS.{key}": f"DATA.TEST.{key}" for key in _OUT_OF_BY_CHUNKS},
}
#: MODEL.BMZ.EXPORT_MODEL's keys and their names in MODEL.BMZ.EXPORT
_BMZ_EXPORT = {"ENABLE": "ENABLE", "NAME": "MODEL_NAME", "DESCRIPTION": "DESCRIPTION",
               "AUTHORS": "AUTHORS", "LICENSE": "LICENSE", "DOCUMENTATION": "DOCUMENTATION",
               "TAGS": "TAGS", "CITE": "CITE", "DATASET_INFO": "DATASET_INFO"}  # fmt: skip

#: every older key this module reads, and what it becomes (the config reference lists them)
MIGRATED_KEYS = {
    **{f"{SEG}.{old}": f"{SEG}.WATERSHED.{new}" for old, new in _INTO_WATERSHED.items()},
    f"{SEG}.DATA_MW_TH_TYPE": "'manual': the DATA_MW_TH_* values become WATERSHED thresholds",
    **{
        f"{SEG}.{key}": f"the seed threshold of {' or '.join(codes)} (with DATA_MW_TH_TYPE manual)"
        for key, codes in _SEED_THRESHOLDS
    },
    f"{SEG}.DATA_MW_TH_FOREGROUND": "the growth-mask threshold of F (DATA_MW_TH_TYPE manual)",
    f"{SEG}.DATA_CHANNELS (a string)": "codes: B->F, D->Db, Dv2->D, F->H,V[,Z], M dropped (F)",
    f"{SEG}.DATA_CHANNELS E_offset, E_sigma, E_seediness": "E (the three EmbedSeg parts)",
    f"{SEG}.DISTANCE_CHANNEL_MASK": "false: DATA_CHANNELS_EXTRA_OPTS D mask_values false",
    f"{SEG}.DATA_CONTOUR_MODE": "DATA_CHANNELS_EXTRA_OPTS C mode (BiaPy 3.0-3.4's GUI)",
    f"{SEG}.DATA_CHANNEL_WEIGHTS (1, 1) or (1,) for another channel count": "one 1 per channel",
    "MODEL.HRNET.Z_DOWN (a boolean)": "one factor per stage: 2 (true) or 1 (false)",
    "DATA.TEST.OVERLAP, DATA.TEST.PADDING (0, 0) in 3D": "(0, 0, 0)",
    "MODEL.BATCH_NORMALIZATION": "true: MODEL.NORMALIZATION 'bn'",
    "MODEL.LAST_ACTIVATION": "nothing (each channel has its own activation)",
    "MODEL.N_CLASSES": "DATA.N_CLASSES (at least 2: the background counts)",
    "DATA.NORMALIZATION.PERC_CLIP (a boolean)": "PERC_CLIP.ENABLE, with PERC_LOWER/PERC_UPPER",
    "DATA.NORMALIZATION.TYPE 'custom'": "'zero_mean_unit_variance' with CUSTOM_MEAN/CUSTOM_STD",
    "TEST.STATS.FULL_IMG": "TEST.FULL_IMG",
    **_RENAMED,
    **{key: "nothing" for key in _DROPPED},
    "DATA.TEST.BINARY_MASKS with TEST.POST_PROCESSING.APPLY_MASK": "DATA.TEST.ROI_MASK.PATH",
    "DATA.TRAIN.MINIMUM_FOREGROUND_PER": "DATA.TRAIN.FILTER_SAMPLES foreground lt the value",
    "TEST.POST_PROCESSING.REMOVE_BY_PROPERTIES, _VALUES, _SIGN": f"{_REMOVE}.PROPS, VALUES, SIGNS",
    "MODEL.BMZ.EXPORT_MODEL": "MODEL.BMZ.EXPORT (NAME as MODEL_NAME)",
    "AUGMENTOR.DA_PROB": "each AUGMENTOR.*_PROB not given",
    "MODEL.ARCHITECTURE hrnet18/32/48/64": "hrnet with MODEL.HRNET.VARIANT W18/32/48/64",
    **{f"{key} (all 0)": "[]: 2 at every pooling" for key in _AUTO_FACTORS},
    "TEST.EVALUATE": "nothing",
    "TEST.POST_PROCESSING.Z_FILTERING, Z_FILTERING_SIZE": "a MEDIAN_FILTER along 'z' (size 5)",
    "TEST.POST_PROCESSING.YZ_FILTERING, YZ_FILTERING_SIZE": "a MEDIAN_FILTER along 'yz' (size 5)",
    f"{_REMOVE}.SIGN": f"{_REMOVE}.SIGNS",
    f"{_REMOVE}.PROPS, VALUES, SIGNS (flat lists)": "one group of conditions",
    **{
        f"{key} (a list)": "its one value, when every parameter group has the same"
        for key in _ONE_VALUE_LISTS
    },
}


class Migration:
    """The notes of one migration ("read X as Y"), each recorded once."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def _pop(config: dict, dotted: str) -> Any:
    parent, _, name = dotted.rpartition(".")
    node = get(config, parent) if parent else config
    return node.pop(name, None) if isinstance(node, dict) else None


def _has(config: dict, dotted: str) -> bool:
    parent, _, name = dotted.rpartition(".")
    node = get(config, parent) if parent else config
    return isinstance(node, dict) and name in node


def old_channel_string(text: str, ndim: int) -> list[str] | None:
    """The codes of an old string such as 'BCD', 'BCM', 'BDv2' or 'BF'; None when not one."""
    codes, rest = [], text
    while rest:
        letter = "Dv2" if rest.startswith("Dv2") else rest[0]
        if letter not in _OLD_LETTERS:
            return None
        codes += _OLD_LETTERS[letter][ndim]
        rest = rest[len(letter) :]
    return codes


#: BiaPy 3.7.1's names of the EmbedSeg planes, which segpipe's one code E holds
_EMBEDSEG_PARTS = ("E_offset", "E_sigma", "E_seediness")


#: channels BiaPy's check appends for its own use: the raw labels (I), border weights (We)
_AUXILIARY_CHANNELS = ("I", "We")
#: encoder options BiaPy's check writes out at values segpipe's encoders always have
_FILLED_OPTIONS = {"P": {"skeleton_mode": "full"}, "Db": {"val_type": "norm"}}


def _checked_config(config: dict, migration: Migration) -> None:
    """The config BiaPy 3.7.1 stores in its checkpoints is the one its check completed: the
    auxiliary channels it appends, the loss of every channel and every encoder option filled
    in. Read back as segpipe's own where they are what segpipe does (anything else stays, and
    validation names it)."""
    seg = get(config, SEG)
    codes = seg.get("DATA_CHANNELS")
    if isinstance(codes, list) and any(c in _AUXILIARY_CHANNELS for c in codes):
        seg["DATA_CHANNELS"] = [c for c in codes if c not in _AUXILIARY_CHANNELS]
        migration.note(
            f"read {SEG}.DATA_CHANNELS {codes} as {seg['DATA_CHANNELS']} (I and We are "
            "BiaPy's own auxiliary channels)"
        )
        codes = seg["DATA_CHANNELS"]
    losses = seg.get("DATA_CHANNELS_LOSSES")
    parts = [c for c in codes if c in _EMBEDSEG_PARTS] if isinstance(codes, list) else []
    if isinstance(losses, list) and len(parts) == 3 and len(losses) == len(codes):
        # the three EmbedSeg parts become one code E: one loss, the first part's
        kept = [loss for c, loss in zip(codes, losses) if c not in parts[1:]]
        seg["DATA_CHANNELS_LOSSES"] = kept
        migration.note(f"read {SEG}.DATA_CHANNELS_LOSSES {losses} as {kept} (E holds the three)")
    options = _channel_options(config)
    if options is None:
        return
    read = dict(options)
    distance = read.get("Db")
    if isinstance(distance, dict) and distance.get("val_type") == "raw":
        read["Db"] = {**{k: v for k, v in distance.items() if k != "val_type"}, "norm": False}
        migration.note(f"read {SEG}.DATA_CHANNELS_EXTRA_OPTS Db val_type raw as Db norm false")
    elif isinstance(distance, dict) and distance.get("val_type") == "omnipose":
        # Omnipose's distance: raw, the background at -dist_bg, learnt on every pixel, linear
        rest = {k: v for k, v in distance.items() if k not in ("val_type", "dist_bg")}
        below = -float(distance.get("dist_bg", 5.0))
        read["Db"] = {"mask_values": False, "act": "linear", **rest, "norm": False,
                      "background": below}  # fmt: skip
        migration.note(
            f"read {SEG}.DATA_CHANNELS_EXTRA_OPTS Db val_type omnipose as Db norm false, "
            f"background {below:g}, mask_values false (the Euclidean distance, not Omnipose's "
            "smoothed one)"
        )
    named = dict(read)
    distance = read.get("Db")
    if (
        isinstance(distance, dict)
        and distance.get("act") == "sigmoid"
        and distance.get("norm", True)
    ):
        # what BiaPy's check writes for normalised distances: segpipe's own choice for them
        read["Db"] = {k: v for k, v in distance.items() if k != "act"}
    for code, filled in _FILLED_OPTIONS.items():
        given = read.get(code)
        if isinstance(given, dict) and any(given.get(k) == v for k, v in filled.items()):
            read[code] = {k: v for k, v in given.items() if filled.get(k, object()) != v}
    if any(part in read for part in _EMBEDSEG_PARTS):
        parts = [read.pop(part, None) or {} for part in _EMBEDSEG_PARTS]
        read["E"] = {**read.get("E", {}), **parts[0]}  # the centre options are E_offset's
    if read != options:
        seg["DATA_CHANNELS_EXTRA_OPTS"] = [read]
    if read != named:
        migration.note(
            f"read {SEG}.DATA_CHANNELS_EXTRA_OPTS as segpipe's encoder options (those BiaPy's "
            "check filled in at what segpipe's encoders do, and E_offset's as E's)"
        )


def _channels(config: dict, ndim: int, migration: Migration) -> None:
    value = get(config, f"{SEG}.DATA_CHANNELS")
    if isinstance(value, list) and set(_EMBEDSEG_PARTS) <= set(value):
        first = min(value.index(part) for part in _EMBEDSEG_PARTS)
        codes = [c for c in value if c not in _EMBEDSEG_PARTS]
        codes.insert(first, "E")
        set_key(config, f"{SEG}.DATA_CHANNELS", codes)
        migration.note(f"read {SEG}.DATA_CHANNELS {value} as {codes} (E holds the three)")
        return
    if not isinstance(value, str) or value.lstrip().startswith(("[", "(")):
        return
    codes = old_channel_string(value.strip(), ndim)
    if codes is None:
        return  # validation names the key
    set_key(config, f"{SEG}.DATA_CHANNELS", codes)
    text = f"read {SEG}.DATA_CHANNELS {value!r} as {codes}"
    if "M" in value:
        text += " (M, BiaPy's legacy B + C mask, is the foreground F already learns)"
    migration.note(text)


def _channel_weights(config: dict, migration: Migration) -> None:
    """BiaPy's default weights (1, 1) or (1,) given for another number of channels: one 1 per
    channel (and the class head's, with DATA.N_CLASSES above 2), as BiaPy 3.7.1's configuration
    check reads them; with EmbedSeg's E, whose loss weighs its parts itself, any count (BiaPy
    replaces them by EmbedSeg's)."""
    from .load import literal

    codes = get(config, f"{SEG}.DATA_CHANNELS")
    weights = get(config, f"{SEG}.DATA_CHANNEL_WEIGHTS")
    codes, weights = (literal(v) if isinstance(v, str) else v for v in (codes, weights))
    if not isinstance(codes, list | tuple) or not isinstance(weights, list | tuple):
        return
    classes = get(config, "DATA.N_CLASSES", 2)
    with_classes = isinstance(classes, int) and classes > 2
    if not weights or len(weights) in (len(codes), len(codes) + with_classes):
        return
    if "E" in codes or list(weights) in ([1], [1, 1]):
        ones = [1] * (len(codes) + with_classes)
        set_key(config, f"{SEG}.DATA_CHANNEL_WEIGHTS", ones)
        why = "EmbedSeg's loss weighs its parts" if "E" in codes else "as BiaPy does"
        migration.note(
            f"read {SEG}.DATA_CHANNEL_WEIGHTS {list(weights)} as {ones} "
            f"(one per channel of {list(codes)}; {why})"
        )


def _thresholds(config: dict, migration: Migration) -> None:
    seg = get(config, SEG)
    if not isinstance(seg, dict):
        return
    manual = seg.pop("DATA_MW_TH_TYPE", "auto") == "manual"
    codes = seg.get("DATA_CHANNELS", [])
    seeds: list[tuple[str, Any]] = []
    for key, candidates in _SEED_THRESHOLDS:
        if key not in seg:
            continue
        value = seg.pop(key)
        used = next((c for c in candidates if c in codes), None)
        if manual and used:
            seeds.append((used, value))
            migration.note(f"read {SEG}.{key} {value} as the seed threshold of channel {used}")
        else:
            migration.note(f"read {SEG}.{key} as unset (DATA_MW_TH_TYPE is not 'manual': 'auto')")
    growth = seg.pop("DATA_MW_TH_FOREGROUND", None)
    watershed = seg.setdefault("WATERSHED", {})
    if seeds and not watershed.get("SEED_CHANNELS"):
        watershed["SEED_CHANNELS"] = [code for code, _ in seeds]
        watershed["SEED_CHANNELS_THRESH"] = [value for _, value in seeds]
    if growth is not None:
        if manual and "F" in codes and not watershed.get("GROWTH_MASK_CHANNELS"):
            watershed["GROWTH_MASK_CHANNELS"] = ["F"]
            watershed["GROWTH_MASK_CHANNELS_THRESH"] = [growth]
            migration.note(
                f"read {SEG}.DATA_MW_TH_FOREGROUND {growth} as the growth-mask threshold of F"
            )
        else:
            migration.note(f"read {SEG}.DATA_MW_TH_FOREGROUND as unset ('auto')")
    if not watershed:
        seg.pop("WATERSHED")


def _into_watershed(config: dict, migration: Migration) -> None:
    for old, new in _INTO_WATERSHED.items():
        if _has(config, f"{SEG}.{old}"):
            value = _pop(config, f"{SEG}.{old}")
            set_key(config, f"{SEG}.WATERSHED.{new}", value)
            migration.note(f"read {SEG}.{old} as {SEG}.WATERSHED.{new}")
    codes = get(config, f"{SEG}.DATA_CHANNELS", [])
    if _has(config, f"{SEG}.DISTANCE_CHANNEL_MASK"):
        masked = _pop(config, f"{SEG}.DISTANCE_CHANNEL_MASK")
        if masked is False and "D" in codes:
            _channel_option(config, "D", "mask_values", False)
            migration.note(
                f"read {SEG}.DISTANCE_CHANNEL_MASK false as DATA_CHANNELS_EXTRA_OPTS "
                "D mask_values false"
            )
    if _has(config, f"{SEG}.DATA_CONTOUR_MODE"):
        # BiaPy 3.0-3.4's contour mode (its GUI wrote it when not thick): 3.7's C option
        mode = _pop(config, f"{SEG}.DATA_CONTOUR_MODE")
        if "C" in codes:
            _channel_option(config, "C", "mode", mode)
        migration.note(f"read {SEG}.DATA_CONTOUR_MODE {mode!r} as DATA_CHANNELS_EXTRA_OPTS C mode")


def _channel_options(config: dict) -> dict | None:
    """DATA_CHANNELS_EXTRA_OPTS as one mapping of code to options (BiaPy writes a list holding
    it); None when absent or of another shape (validation names it)."""
    options = get(config, f"{SEG}.DATA_CHANNELS_EXTRA_OPTS", None)
    if isinstance(options, list) and len(options) == 1:
        options = options[0]
    return dict(options) if isinstance(options, dict) else None


def _channel_option(config: dict, code: str, name: str, value: Any) -> None:
    """Set one encoder option of ``code`` in DATA_CHANNELS_EXTRA_OPTS, keeping the others."""
    options = _channel_options(config) or {}
    options[code] = {**options.get(code, {}), name: value}
    set_key(config, f"{SEG}.DATA_CHANNELS_EXTRA_OPTS", [options])


def _post_processing(config: dict, migration: Migration) -> None:
    _median_filters(config, migration)
    _removal_conditions(config, migration)
    if _has(config, "TEST.STATS"):
        stats = _pop(config, "TEST.STATS") or {}
        if isinstance(stats, dict) and "FULL_IMG" in stats:
            set_key(config, "TEST.FULL_IMG", stats["FULL_IMG"])
            migration.note("read TEST.STATS.FULL_IMG as TEST.FULL_IMG")
    if _has(config, "TEST.EVALUATE"):
        _pop(config, "TEST.EVALUATE")
        migration.note("read TEST.EVALUATE as nothing (BiaPy 3.7 dropped it)")


def _median_filters(config: dict, migration: Migration) -> None:
    post = "TEST.POST_PROCESSING"
    for old, axes in _OLD_MEDIAN_FILTERS.items():
        present = _has(config, f"{post}.{old}") or _has(config, f"{post}.{old}_SIZE")
        enabled = _pop(config, f"{post}.{old}")
        size = _pop(config, f"{post}.{old}_SIZE")
        if not present:
            continue
        if not enabled:
            migration.note(f"read {post}.{old} false as nothing")
            continue
        size = _OLD_MEDIAN_SIZE if size is None else size
        set_key(config, f"{post}.MEDIAN_FILTER", True)
        set_key(
            config,
            f"{post}.MEDIAN_FILTER_AXIS",
            [*get(config, f"{post}.MEDIAN_FILTER_AXIS", []), axes],
        )
        set_key(
            config,
            f"{post}.MEDIAN_FILTER_SIZE",
            [*get(config, f"{post}.MEDIAN_FILTER_SIZE", []), size],
        )
        migration.note(f"read {post}.{old} as a MEDIAN_FILTER along {axes!r} of size {size}")


def _removal_conditions(config: dict, migration: Migration) -> None:
    if _has(config, f"{_REMOVE}.SIGN"):
        signs = _pop(config, f"{_REMOVE}.SIGN")
        if not _has(config, f"{_REMOVE}.SIGNS"):
            set_key(config, f"{_REMOVE}.SIGNS", signs)
        migration.note(f"read {_REMOVE}.SIGN as {_REMOVE}.SIGNS")
    for name in ("PROPS", "VALUES", "SIGNS"):
        value = get(config, f"{_REMOVE}.{name}")
        if isinstance(value, list) and value and not any(isinstance(v, list) for v in value):
            set_key(config, f"{_REMOVE}.{name}", [value])
            migration.note(f"read {_REMOVE}.{name} {value} as one group of conditions {[value]}")


def _model_and_data(config: dict, migration: Migration) -> None:
    if _has(config, "MODEL.BATCH_NORMALIZATION"):
        if _pop(config, "MODEL.BATCH_NORMALIZATION"):
            set_key(config, "MODEL.NORMALIZATION", "bn")
            migration.note("read MODEL.BATCH_NORMALIZATION as MODEL.NORMALIZATION 'bn'")
        else:  # as BiaPy 3.7.1 reads it: MODEL.NORMALIZATION keeps its own value
            migration.note("read MODEL.BATCH_NORMALIZATION false as nothing")
    if _has(config, "MODEL.N_CLASSES"):
        classes = _pop(config, "MODEL.N_CLASSES")
        if isinstance(classes, int) and not _has(config, "DATA.N_CLASSES"):
            # older BiaPy counted the classes without the background (1: instances only)
            set_key(config, "DATA.N_CLASSES", max(classes, 2))
        migration.note("read MODEL.N_CLASSES as DATA.N_CLASSES")
    if _has(config, "MODEL.LAST_ACTIVATION"):
        _pop(config, "MODEL.LAST_ACTIVATION")
        migration.note("read MODEL.LAST_ACTIVATION as nothing (each channel has its own)")
    architecture = get(config, "MODEL.ARCHITECTURE")
    if isinstance(architecture, str) and architecture.lower() in _HRNET_NAMES:
        width = architecture.lower().removeprefix("hrnet")
        set_key(config, "MODEL.ARCHITECTURE", "hrnet")
        set_key(config, "MODEL.HRNET.VARIANT", f"W{width}")
        migration.note(
            f"read MODEL.ARCHITECTURE {architecture} as hrnet, MODEL.HRNET.VARIANT W{width}"
        )
    z_down = get(config, "MODEL.HRNET.Z_DOWN")
    if isinstance(z_down, bool):  # older BiaPy: whether HRNet pools Z at all
        stages = get(config, "MODEL.HRNET.NUM_STAGES", 3)
        factors = [2 if z_down else 1] * (stages if isinstance(stages, int) else 3)
        set_key(config, "MODEL.HRNET.Z_DOWN", factors)
        migration.note(f"read MODEL.HRNET.Z_DOWN {z_down} as {factors} (one factor per stage)")
    for dotted in _AUTO_FACTORS:
        factors = get(config, dotted)
        if isinstance(factors, (list, tuple)) and factors and all(f == 0 for f in factors):
            set_key(config, dotted, [])
            migration.note(f"read {dotted} {list(factors)} as [] (2 at every pooling)")
    normalization = "DATA.NORMALIZATION"
    clip = get(config, f"{normalization}.PERC_CLIP")
    if isinstance(clip, bool):
        section: dict = {"ENABLE": clip}
        for old, new in (("PERC_LOWER", "LOWER_PERC"), ("PERC_UPPER", "UPPER_PERC")):
            if _has(config, f"{normalization}.{old}"):
                section[new] = _pop(config, f"{normalization}.{old}")
        set_key(config, f"{normalization}.PERC_CLIP", section)
        migration.note(f"read {normalization}.PERC_CLIP {clip} as PERC_CLIP.ENABLE {clip}")
    if get(config, f"{normalization}.TYPE") == "custom":
        set_key(config, f"{normalization}.TYPE", "zero_mean_unit_variance")
        for old, new in (("CUSTOM_MEAN", "MEAN_VAL"), ("CUSTOM_STD", "STD_VAL")):
            if _has(config, f"{normalization}.{old}"):
                value = _pop(config, f"{normalization}.{old}")
                set_key(config, f"{normalization}.ZERO_MEAN_UNIT_VAR.{new}", value)
        for dropped in ("CUSTOM_MODE", "APPLICATION_MODE"):
            _pop(config, f"{normalization}.{dropped}")
        migration.note(f"read {normalization}.TYPE 'custom' as 'zero_mean_unit_variance'")


def _two_zeros_in_3d(config: dict, migration: Migration) -> None:
    """BiaPy's 2D default (0, 0) of the test OVERLAP and PADDING, left in a 3D config (every
    config BiaPy writes out has it), read as (0, 0, 0), as BiaPy 3.7.1's check reads it (the
    training and validation ones, which segpipe does not read, stay BiaPy's default)."""
    from .load import literal

    for name in ("OVERLAP", "PADDING"):
        dotted = f"DATA.TEST.{name}"
        value = get(config, dotted)
        read = literal(value) if isinstance(value, str) else value
        if isinstance(read, list | tuple) and list(read) == [0, 0]:
            set_key(config, dotted, [0, 0, 0])
            migration.note(f"read {dotted} {value} as [0, 0, 0] (3D, as BiaPy reads it)")


def _single_values(config: dict, migration: Migration) -> None:
    """A list of equal values (BiaPy's per-parameter-group form) read as that one value."""
    from .load import literal

    for dotted in _ONE_VALUE_LISTS:
        value = get(config, dotted)
        if isinstance(value, str) and value.strip().startswith(("[", "(")):
            value = literal(value)
        if isinstance(value, list) and value and all(item == value[0] for item in value):
            set_key(config, dotted, value[0])
            migration.note(f"read {dotted} {value} as {value[0]!r} (one parameter group)")


def _renamed_and_dropped(config: dict, migration: Migration) -> None:
    """The keys BiaPy 3.7.1's update code renames, moves or drops, read as it reads them."""
    for old, new in _RENAMED.items():
        if _has(config, old):
            value = _pop(config, old)
            if not _has(config, new):  # the newer key, when both are given, wins
                set_key(config, new, value)
            migration.note(f"read {old} as {new}")
    for old in _DROPPED:
        if _has(config, old):
            _pop(config, old)
            migration.note(f"read {old} as nothing (BiaPy 3.7.1 drops it)")
    if _has(config, "DATA.TEST.BINARY_MASKS"):
        masks = _pop(config, "DATA.TEST.BINARY_MASKS")
        if _pop(config, "TEST.POST_PROCESSING.APPLY_MASK"):
            set_key(config, "DATA.TEST.ROI_MASK.PATH", masks)
        migration.note("read DATA.TEST.BINARY_MASKS as DATA.TEST.ROI_MASK.PATH")
    elif _has(config, "TEST.POST_PROCESSING.APPLY_MASK"):
        _pop(config, "TEST.POST_PROCESSING.APPLY_MASK")
        migration.note("read TEST.POST_PROCESSING.APPLY_MASK as nothing (no BINARY_MASKS)")
    if _has(config, "DATA.TRAIN.MINIMUM_FOREGROUND_PER"):
        least = _pop(config, "DATA.TRAIN.MINIMUM_FOREGROUND_PER")
        if least != -1:
            filters = {"PROPS": [["foreground"]], "VALUES": [[least]], "SIGNS": [["lt"]]}
            for key, value in filters.items():
                set_key(config, f"DATA.TRAIN.FILTER_SAMPLES.{key}", value)
        migration.note("read DATA.TRAIN.MINIMUM_FOREGROUND_PER as DATA.TRAIN.FILTER_SAMPLES")
    old_remove = "TEST.POST_PROCESSING.REMOVE_BY_PROPERTIES"
    if _has(config, old_remove):
        set_key(config, "TEST.POST_PROCESSING.MEASURE_PROPERTIES.ENABLE", True)
        set_key(config, f"{_REMOVE}.ENABLE", True)
        set_key(config, f"{_REMOVE}.PROPS", _pop(config, old_remove))
        for old, new in (("_VALUES", "VALUES"), ("_SIGN", "SIGNS")):
            if _has(config, old_remove + old):
                set_key(config, f"{_REMOVE}.{new}", _pop(config, old_remove + old))
        migration.note(f"read {old_remove} (and _VALUES, _SIGN) as {_REMOVE}")
    export = (
        _pop(config, "MODEL.BMZ.EXPORT_MODEL") if _has(config, "MODEL.BMZ.EXPORT_MODEL") else None
    )
    if export is not None:
        for old, new in _BMZ_EXPORT.items():
            if isinstance(export, dict) and old in export:
                set_key(config, f"MODEL.BMZ.EXPORT.{new}", export[old])
        migration.note("read MODEL.BMZ.EXPORT_MODEL as MODEL.BMZ.EXPORT")


def _augmentation_probability(config: dict, migration: Migration) -> None:
    """BiaPy's older single AUGMENTOR.DA_PROB: the probability of every augmentation whose own
    *_PROB is not given (BiaPy 3.7.1's update does the same)."""
    if not _has(config, "AUGMENTOR.DA_PROB"):
        return
    probability = _pop(config, "AUGMENTOR.DA_PROB")
    for name in AUGMENTATIONS:
        key = f"AUGMENTOR.{name.upper()}_PROB"
        if not _has(config, key):
            set_key(config, key, probability)
    migration.note("read AUGMENTOR.DA_PROB as each AUGMENTOR.*_PROB not given")


def migrate(raw: dict) -> tuple[dict, list[str]]:
    """A copy of a raw config mapping with older BiaPy keys in their 3.7 places, and the notes."""
    config = copy.deepcopy(raw)
    migration = Migration()
    ndim = 3 if get(config, "PROBLEM.NDIM") == "3D" else 2
    _renamed_and_dropped(config, migration)  # first: the steps below read the new places
    _augmentation_probability(config, migration)
    if isinstance(get(config, SEG), dict):
        _checked_config(config, migration)
        _channels(config, ndim, migration)
        _into_watershed(config, migration)
        _thresholds(config, migration)
    if isinstance(get(config, "TEST"), dict):
        _post_processing(config, migration)
    _model_and_data(config, migration)
    if ndim == 3:
        _two_zeros_in_3d(config, migration)
    if isinstance(get(config, SEG), dict):
        _channel_weights(config, migration)  # after _model_and_data: it reads DATA.N_CLASSES
    _single_values(config, migration)
    return config, migration.notes
