"""What every stage command shares: config loading and turning input errors into one clear
message."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..config import ConfigError, load_config, resolve_config
from ..io import InputError

log = logging.getLogger("segpipe")


def stage_config(path: str | Path | None) -> dict:
    """The resolved config (defaults only when no file is given); warnings go to the log."""
    if path is None:
        config, warnings = resolve_config({})
    else:
        config, warnings = load_config(path)
    for warning in warnings:
        log.warning("%s", warning)
    return config


#: set by ``segpipe --debug``: errors keep their traceback
DEBUG_VARIABLE = "SEGPIPE_DEBUG"


def clear_errors(function: Callable[..., Any]) -> Callable[..., Any]:
    """Report bad input and failures of the machine as one line and exit 1, not a traceback.

    ``segpipe --debug`` keeps the traceback.
    """

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if os.environ.get(DEBUG_VARIABLE):
            return function(*args, **kwargs)
        try:
            return function(*args, **kwargs)
        except (InputError, ConfigError, ValueError, FileNotFoundError) as error:
            raise click.ClickException(str(error)) from None
        except MemoryError:
            raise click.ClickException(
                "out of memory: give the job more memory (the rule's mem_mb), or use smaller "
                "DATA.PATCH_SIZE / TRAIN.BATCH_SIZE; run with `segpipe --debug` for where"
            ) from None
        except OSError as error:  # disk full (ENOSPC), permission denied, quota, ...
            where = f": {error.filename}" if error.filename else ""
            raise click.ClickException(f"{error.strerror or error}{where}") from None

    return wrapper


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="BiaPy-style YAML config; defaults are used for keys it leaves out.",
)


def settings_for(stage: str, config_path: str | Path | None) -> Any:
    """The settings of ``stage`` from the config file (defaults when none is given)."""
    from . import stage_settings

    return stage_settings(stage, stage_config(config_path))


def model_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The ``--model`` option of the commands that predict with a trained model."""
    return click.option("--model", "model_path", required=True, type=click.Path(), help=help_text)


def chunk_block(config: Any) -> tuple[int, ...] | None:
    """TEST.BY_CHUNKS's block size per spatial axis (empty: four patches of DATA.PATCH_SIZE),
    None when BY_CHUNKS is off."""
    if not config["TEST"]["BY_CHUNKS"]["ENABLE"]:
        return None
    return _per_axis(config, "BLOCK_SIZE", 4)


def chunk_halo(config: Any) -> tuple[int, ...]:
    """TEST.BY_CHUNKS's decoding halo per spatial axis (empty: one patch)."""
    return _per_axis(config, "HALO", 1)


def block_and_halo(config: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """TEST.BY_CHUNKS's block size and halo per spatial axis, whether BY_CHUNKS is on or not
    (for a label volume on disk refined block by block)."""
    return _per_axis(config, "BLOCK_SIZE", 4), _per_axis(config, "HALO", 1)


def _per_axis(config: Any, key: str, patches: int) -> tuple[int, ...]:
    patch = tuple(int(p) for p in config["DATA"]["PATCH_SIZE"][:-1])
    values = tuple(config["TEST"]["BY_CHUNKS"][key]) or tuple(patches * p for p in patch)
    if len(values) != len(patch):
        raise click.ClickException(
            f"TEST.BY_CHUNKS.{key} {list(values)} needs one value per spatial axis "
            f"({len(patch)} for DATA.PATCH_SIZE {list(patch)})"
        )
    return values


def ndim_of(config: Any) -> int:
    """PROBLEM.NDIM as 2 or 3."""
    return 2 if config["PROBLEM"]["NDIM"] == "2D" else 3


def data_rank(ndim_flag: str | None, config_ndim: int, config_path: str | None) -> int | None:
    """--ndim wins, then PROBLEM.NDIM of a given --config; None: the file says."""
    if ndim_flag:
        return 2 if ndim_flag == "2D" else 3
    return config_ndim if config_path else None


#: (folder, axes order, whether of labels) of each split's raw and label folders: BiaPy's
#: INPUT_IMG_AXES_ORDER and INPUT_MASK_AXES_ORDER, for Zarr/HDF5 arrays that do not name their
#: axes (test last)
AxesOrders = tuple[tuple[str, str, bool], ...]
#: (folder, raw array, label array) of each split read with INPUT_ZARR_MULTIPLE_DATA
InsidePaths = tuple[tuple[str, str, str], ...]

_MULTIPLE = "INPUT_ZARR_MULTIPLE_DATA"


def label_folder(data: Any) -> str:
    """A split's label folder: GT_PATH, or with INPUT_ZARR_MULTIPLE_DATA its PATH, whose
    containers hold the labels too."""
    return data["PATH"] if data[_MULTIPLE] else data["GT_PATH"]


def axes_orders(config: Any) -> AxesOrders:
    """Every split's raw and label folders with the axes order given for them (test last)."""
    orders = []
    for split in ("TRAIN", "VAL", "TEST"):
        data = config["DATA"][split]
        orders.append((data["PATH"], data["INPUT_IMG_AXES_ORDER"], False))
        orders.append((label_folder(data), data["INPUT_MASK_AXES_ORDER"], True))
    return tuple(orders)


def axes_for(orders: AxesOrders, path: str | Path, label: bool = False) -> str:
    """The axes order for an image at ``path``: that of the split folder holding it, else the
    test split's (its raw images', or with ``label`` its labels')."""
    from ..io import listing_folder

    folder = listing_folder(path).resolve()
    for configured, order, of_labels in orders:
        if configured and of_labels == label and Path(configured).resolve() == folder:
            return order
    return orders[-1][1] if label else orders[-2][1]


def inside_paths(config: Any) -> InsidePaths:
    """The folders of the splits read with INPUT_ZARR_MULTIPLE_DATA and their arrays."""
    return tuple(
        (data["PATH"], data[f"{_MULTIPLE}_RAW_PATH"], data[f"{_MULTIPLE}_GT_PATH"])
        for data in (config["DATA"][split] for split in ("TRAIN", "VAL", "TEST"))
        if data[_MULTIPLE] and data["PATH"]
    )


def inside_for(table: InsidePaths, folder: str | Path) -> tuple[str, str]:
    """(raw array, label array) inside the containers of ``folder``; ("", "") for a folder
    of images."""
    for configured, raw, label in table:
        if Path(configured).resolve() == Path(folder).resolve():
            return raw, label
    return "", ""


def split_images(config: Any, split: str, labels: bool = False) -> list[Path]:
    """The raw (or label) images of DATA.<split>, as listed from its folder."""
    from ..io import list_images

    data = config["DATA"][split]
    if data[_MULTIPLE]:
        inside = data[f"{_MULTIPLE}_GT_PATH" if labels else f"{_MULTIPLE}_RAW_PATH"]
        return list_images(data["PATH"], f"DATA.{split}.PATH", inside)
    key = "GT_PATH" if labels else "PATH"
    return list_images(data[key], f"DATA.{split}.{key}")


def starting_model(config: Any) -> str:
    """The model a run starts from ("" for none): the package of MODEL.SOURCE bmz, or
    PATHS.CHECKPOINT_FILE with MODEL.LOAD_CHECKPOINT."""
    model = config["MODEL"]
    if model["SOURCE"] == "bmz":
        return model["BMZ"]["SOURCE_MODEL_ID"]
    return config["PATHS"]["CHECKPOINT_FILE"] if model["LOAD_CHECKPOINT"] else ""


def experiment_model_name(config: Any) -> str:
    """The experiment's model file a run that does not train predicts with
    (MODEL.LOAD_CHECKPOINT_EPOCH): the best epoch's or the last one's."""
    return (
        "model_last.pt"
        if config["MODEL"]["LOAD_CHECKPOINT_EPOCH"] == "last_on_train"
        else ("model.pt")
    )
