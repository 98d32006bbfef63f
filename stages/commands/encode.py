"""segpipe encode: instance labels -> (C, [Z,] Y, X) float32 channels with their codes in the TIFF
metadata."""

from __future__ import annotations

import json
from dataclasses import dataclass

import click

from .common import clear_errors, config_option, ndim_of


@dataclass(frozen=True)
class EncodeSettings:
    codes: tuple[str, ...]
    options: dict
    ndim: int


def settings_from_config(config) -> EncodeSettings:
    from ..config import whole

    seg = config["PROBLEM"]["INSTANCE_SEG"]
    return EncodeSettings(
        tuple(seg["DATA_CHANNELS"]), whole(seg["DATA_CHANNELS_EXTRA_OPTS"]), ndim_of(config)
    )


@click.command(name="encode")
@click.argument("label_path", type=click.Path(dir_okay=False))
@click.argument("out_path", type=click.Path(dir_okay=False))
@click.option(
    "--channels",
    default=None,
    help="Comma-separated channel codes, e.g. F,C,Db [default: "
    "PROBLEM.INSTANCE_SEG.DATA_CHANNELS].",
)
@click.option(
    "--extra-opts",
    default=None,
    help='JSON options per code, e.g. \'{"C": {"mode": "inner"}}\' [default: '
    "DATA_CHANNELS_EXTRA_OPTS].",
)
@click.option(
    "--ndim",
    type=click.Choice(["2D", "3D"]),
    default=None,
    help="Dimensionality of the labels [default: PROBLEM.NDIM].",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="CPU threads for the compiled kernels and distance transforms [default: all cores].",
)
@config_option
@clear_errors
def command(
    label_path: str,
    out_path: str,
    channels: str | None,
    extra_opts: str | None,
    ndim: str | None,
    threads: int | None,
    config_path: str | None,
) -> None:
    """Encode the instance label image LABEL_PATH into OUT_PATH."""
    from ..threads import limit_threads

    limit_threads(threads)
    from ..channels import ENCODERS, channel_planes, encode_channels
    from ..config import ConfigError
    from ..io import provenance, read_labels, write_tiff
    from .common import data_rank, settings_for

    settings = settings_for("encode", config_path)
    codes = [c.strip() for c in channels.split(",")] if channels else list(settings.codes)
    labels, info = read_labels(label_path, data_rank(ndim, settings.ndim, config_path))
    rank = labels.ndim
    unknown = [c for c in codes if c not in ENCODERS]
    if unknown or not codes:
        raise click.BadParameter(
            f"unknown channel code(s) {unknown}; available: {', '.join(ENCODERS)}",
            param_hint="--channels",
        )
    if extra_opts is not None:
        try:
            options = json.loads(extra_opts)
        except json.JSONDecodeError as error:
            raise click.BadParameter(
                f"not valid JSON: {error}", param_hint="--extra-opts"
            ) from None
        if not isinstance(options, dict):
            raise click.BadParameter(
                "must be a JSON object keyed by channel code", param_hint="--extra-opts"
            )
    else:
        options = {c: o for c, o in settings.options.items() if c in codes}
    for code, value in options.items():
        if code not in codes:
            raise click.BadParameter(
                f"options for {code!r}, which is not among the channels {codes}",
                param_hint="--extra-opts",
            )
        try:
            options[code] = ENCODERS[code].resolve_options(value or {}, rank)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--extra-opts") from None
    resolved = {c: options.get(c) or ENCODERS[c].resolve_options({}, rank) for c in codes}
    try:
        encoded = encode_channels(labels, codes, resolved)
    except ValueError as error:
        raise ConfigError(f"{label_path}: {error}") from None
    write_tiff(
        out_path,
        encoded,
        spacing=info.spacing,
        metadata={
            "channels": channel_planes(codes, resolved, rank),
            "codes": codes,
            "channel_options": resolved,
            "axes": "C" + ("ZYX" if labels.ndim == 3 else "YX"),
            "source": str(label_path),
            "versions": provenance(),
        },
    )
