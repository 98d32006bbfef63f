"""Defaults that depend on other keys: filled in this one place, after the schema's own."""

from __future__ import annotations


def complete(cfg: dict) -> None:
    """Fill the defaults that depend on other keys (the schema's defaults are already in).

    The one place where a resolved config gains values it was not given: the patch size by
    NDIM, test padding and overlap by the patch, one options mapping per channel code, the
    activation's lower-case spelling, BiaPy's 2D resize shape in 3D, and the watershed's
    channel lists where thresholds were given without them (as BiaPy infers them).
    """
    ndim = 2 if cfg["PROBLEM"]["NDIM"] == "2D" else 3
    if not cfg["DATA"]["PATCH_SIZE"]:
        cfg["DATA"]["PATCH_SIZE"] = [256, 256, 1] if ndim == 2 else [20, 128, 128, 1]
    spatial = cfg["DATA"]["PATCH_SIZE"][:-1]
    test = cfg["DATA"]["TEST"]
    if not test["PADDING"]:
        test["PADDING"] = [size // 8 for size in spatial]
    if not test["OVERLAP"]:
        test["OVERLAP"] = [0.0] * len(spatial)
    seg = cfg["PROBLEM"]["INSTANCE_SEG"]
    extra = seg["DATA_CHANNELS_EXTRA_OPTS"]
    if isinstance(extra, list):
        extra = extra[0] if extra else {}
    seg["DATA_CHANNELS_EXTRA_OPTS"] = {
        **{code: {} for code in seg["DATA_CHANNELS"]},
        **{code: dict(options or {}) for code, options in extra.items()},
    }
    _one_gradient_type(seg["DATA_CHANNELS_EXTRA_OPTS"])
    cfg["MODEL"]["ACTIVATION"] = cfg["MODEL"]["ACTIVATION"].lower()
    resize = cfg["DATA"]["PREPROCESS"]["RESIZE"]
    if ndim == 3 and list(resize["OUTPUT_SHAPE"]) == [512, 512]:
        resize["OUTPUT_SHAPE"] = [512, 512, 512]  # BiaPy's 2D default, read as it reads it
    _watershed_lists(seg)


#: the flow channels, one vector field: their components share one gradient_type
FLOW_CODES = ("Gh", "Gv", "Gz")


def _one_gradient_type(options: dict) -> None:
    """A gradient_type given to one flow component holds for the others (BiaPy's Omnipose
    template sets it on Gh alone); different ones are left for the checks to name."""
    given = {
        options[c]["gradient_type"] for c in FLOW_CODES if "gradient_type" in options.get(c, {})
    }
    if len(given) == 1:
        for code in FLOW_CODES:
            if code in options:
                options[code].setdefault("gradient_type", next(iter(given)))


def _watershed_lists(seg: dict) -> None:
    """SEED_CHANNELS / GROWTH_MASK_CHANNELS inferred where only their thresholds are given."""
    from ..channels import ENCODERS
    from ..decode import decoder_for
    from ..decode.settings import infer_watershed_defaults

    codes, shed = seg["DATA_CHANNELS"], seg["WATERSHED"]
    if not codes or any(code not in ENCODERS for code in codes):
        return  # the checks name the bad code
    try:
        if decoder_for(codes) != "watershed":
            return
    except ValueError:
        return
    seeds, _, growth = infer_watershed_defaults(codes)
    if shed["SEED_CHANNELS_THRESH"] and not shed["SEED_CHANNELS"]:
        shed["SEED_CHANNELS"] = seeds
    if shed["GROWTH_MASK_CHANNELS_THRESH"] and not shed["GROWTH_MASK_CHANNELS"]:
        shed["GROWTH_MASK_CHANNELS"] = growth
