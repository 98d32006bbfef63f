"""segpipe import-biapy: a network BiaPy trained -> a segpipe model.pt (weights and card)."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from .common import clear_errors

log = logging.getLogger("segpipe.import")

#: the architectures whose BiaPy 3.7.1 weights pair with segpipe's network tensor for tensor
#: and give the same outputs (benchmarks/check_biapy_import.py, every configuration equal)
IMPORTABLE = (
    "unet", "resunet", "attention_unet", "seunet", "resunet_se", "resunet++", "unext_v1",
    "unext_v2", "hrnet",
)  # fmt: skip


#: the key "biapy_version" as a pickled string (protocol 2's BINUNICODE, torch.save's default,
#: and protocol 4's SHORT_BINUNICODE): the text inside a longer string does not match
_VERSION_KEYS = (b"X\x0d\x00\x00\x00biapy_version", b"\x8c\x0dbiapy_version")


def looks_like_biapy_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` is a checkpoint BiaPy saved (a torch zip whose pickle holds the key
    "biapy_version"), told without importing torch, for the workflow to import it first.
    A file it cannot read is not one (the command that loads it says why)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
            data = archive.read(pickles[0]) if len(pickles) == 1 else b""
    except (OSError, zipfile.BadZipFile):
        return False
    return any(key in data for key in _VERSION_KEYS)


def read_biapy_checkpoint(path: Path) -> dict:
    """A BiaPy checkpoint's contents (state dict, config, version), read with
    ``weights_only=True``; an error names the file when it is not one."""
    import torch

    from ..nn.model import biapy_checkpoint_version

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} does not exist") from None
    except Exception as error:  # torch raises many types for a file it cannot read safely
        if "yacs" in str(error):
            raise ValueError(
                f"{path}: a BiaPy checkpoint from before BiaPy 3.6, whose config is pickled as "
                "a yacs CfgNode, which cannot be read without running code from the file; "
                "load it once in BiaPy 3.7 and save it again"
            ) from None
        raise ValueError(f"{path} is not a BiaPy checkpoint ({type(error).__name__})") from None
    if biapy_checkpoint_version(checkpoint) is None:
        raise ValueError(
            f"{path} is not a BiaPy checkpoint (no BiaPy version or config beside its weights)"
        )
    return checkpoint


def imported_model(checkpoint: dict, config: dict, source: Path):
    """(weights, card) of segpipe's network for ``config`` holding the checkpoint's weights."""
    import torch

    from ..nn.foreign_weights import pair_biapy_weights
    from ..nn.model import build_model
    from ..nn.outputs import card_for
    from .train import settings_from_config

    settings = settings_from_config(config)
    loop = settings.loop
    spec = loop.model
    if spec.architecture not in IMPORTABLE:
        raise ValueError(
            f"{source}: BiaPy's {spec.architecture} weights cannot be imported yet (its layers "
            f"pair with segpipe's only for {', '.join(IMPORTABLE)}); train it with segpipe "
            "from the same config"
        )
    if spec.architecture == "hrnet" and spec.hrnet_head != "FCN":
        raise ValueError(
            f"{source}: BiaPy's HRNet with the {spec.hrnet_head} head returns its 256 context "
            "channels, which segpipe classifies with a layer BiaPy has not trained; only "
            "HRNet's FCN head imports"
        )
    network = build_model(spec)
    # the forward pass that orders the layers: twice the pooling multiple is enough (a 3D
    # training patch would cost gigabytes for nothing)
    size = tuple(2 * m for m in network.multiple)
    generator = torch.Generator().manual_seed(0)
    example = torch.rand((1, spec.in_channels, *size), generator=generator)
    try:
        weights = pair_biapy_weights(checkpoint["model"], network, example)
    except ValueError as error:
        raise ValueError(
            f"{source}: its weights do not fit the network its config describes ({error})"
        ) from None
    network.load_state_dict(weights)
    training = {
        "epochs": checkpoint.get("epoch"),
        "seed": settings.seed,
        "imported_from": {
            "file": str(source),
            "biapy_version": str(checkpoint.get("biapy_version", "unknown")),
        },
    }
    card = card_for(loop, settings.normalization, training)
    return network.state_dict(), card


@click.command("import-biapy")
@click.argument("checkpoint_path", type=click.Path(dir_okay=False))
@click.argument("out_path", type=click.Path(dir_okay=False))
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="The BiaPy YAML the model was trained with, read instead of the config the "
    "checkpoint holds (the same keys decide the network).",
)
@clear_errors
def command(checkpoint_path: str, out_path: str, config_path: str | None) -> None:
    """Turn the BiaPy checkpoint CHECKPOINT_PATH (.pth) into the segpipe model OUT_PATH.

    The network, channels and normalisation are read from the config BiaPy stored in the
    checkpoint (BiaPy 3.6 and later) or from --config, migrated as segpipe migrates a BiaPy
    config; the weights are checked to fit that network tensor for tensor. OUT_PATH then
    predicts (`segpipe predict --model`), fine-tunes (PATHS.CHECKPOINT_FILE with
    MODEL.LOAD_CHECKPOINT) and exports like a model segpipe trained.
    """
    from ..config import load_config, resolve_config
    from ..nn.model import save_model

    source = Path(checkpoint_path)
    checkpoint = read_biapy_checkpoint(source)
    if config_path is not None:
        config, warnings = load_config(config_path)
    else:
        stored = checkpoint.get("cfg")
        if not isinstance(stored, dict):
            raise click.ClickException(
                f"{source} holds no config: give the YAML it was trained with (--config)"
            )
        config, warnings = resolve_config(stored)
    for warning in warnings:
        log.warning("%s", warning)
    weights, card = imported_model(checkpoint, config, source)
    save_model(out_path, weights, card)
    click.echo(
        f"{out_path}: BiaPy {card.training['imported_from']['biapy_version']} "
        f"{card.spec.architecture} ({', '.join(card.channels)}), epoch {card.training['epochs']}"
    )
