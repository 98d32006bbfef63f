"""segpipe export: a trained model -> a BioImage Model Zoo package (.zip or folder)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click

from .common import clear_errors, config_option, ndim_of


@dataclass(frozen=True)
class ExportSettings:
    ndim: int
    name: str
    description: str
    authors: list[dict]
    license: str
    documentation: str  # a markdown file's path, or ""
    tags: list[str]
    cite: list[dict]
    dataset: dict
    version: str
    padding: tuple[int, ...]  # DATA.TEST.PADDING: the halo the package asks consumers for
    run_name: str
    #: the decode stage's keys (PROBLEM.INSTANCE_SEG, ...) as a config, for config.segpipe
    decoder: dict = field(default_factory=dict)


def settings_from_config(config) -> ExportSettings:
    from ..config import RecordingConfig
    from . import stage_settings, stage_slice

    if isinstance(config, RecordingConfig):
        stage_settings("decode", config)  # the decoder's keys join export's config slice
        decoder: dict = {}
    else:
        decoder = stage_slice(config, "decode")
    export = config["MODEL"]["BMZ"]["EXPORT"]
    return ExportSettings(
        ndim=ndim_of(config),
        name=export["MODEL_NAME"],
        description=export["DESCRIPTION"],
        # BiaPy's examples spell it githubuser
        authors=[
            {("github_user" if k == "githubuser" else k): v for k, v in author.items()}
            for author in export["AUTHORS"]
        ],
        license=export["LICENSE"],
        documentation=export["DOCUMENTATION"],
        tags=list(export["TAGS"]),
        cite=list(export["CITE"]),
        dataset={k: v for info in export["DATASET_INFO"] for k, v in info.items()},
        version=str(export["MODEL_VERSION"]),
        padding=tuple(config["DATA"]["TEST"]["PADDING"]),
        run_name=config["RUN"]["NAME"],
        decoder=decoder,
    )


def centre_window(image, patch: tuple[int, ...]):
    """The patch-sized window at the centre of a channel-first (C, *spatial) image, mirrored
    where the image is smaller than the patch."""
    from ..nn.data import pad_to_patch

    image = pad_to_patch(image, patch)
    starts = [(s - p) // 2 for s, p in zip(image.shape[1:], patch)]
    return image[(slice(None),) + tuple(slice(a, a + p) for a, p in zip(starts, patch))]


def package_text(settings: ExportSettings, meta: dict):
    """The package's name, description, authors... from the config, with segpipe's defaults."""
    import getpass

    from ..nn.export import PackageText

    architecture = meta["spec"]["architecture"]
    codes = "".join(meta["codes"])
    dataset = settings.dataset.get("name", "")
    documentation = Path(settings.documentation).read_text() if settings.documentation else ""
    return PackageText(
        name=settings.name or f"segpipe {architecture} {codes} {settings.run_name}",
        description=settings.description
        or f"{settings.ndim}D instance segmentation: a {architecture} predicting the channels "
        f"{codes}"
        + (f", trained on {dataset}" if dataset else ""),
        authors=settings.authors or [{"name": getpass.getuser()}],
        license=settings.license,
        tags=settings.tags,
        cite=settings.cite,
        version=settings.version,
        documentation=documentation,
    )


@click.command(name="export")
@click.argument("model_path", type=click.Path())
@click.argument("out_path", type=click.Path())
@click.option(
    "--image",
    "image_path",
    required=True,
    type=click.Path(),
    help="A raw image the package's test input and cover are cut from (its centre, one patch).",
)
@config_option
@clear_errors
def command(model_path: str, out_path: str, image_path: str, config_path: str | None) -> None:
    """Export MODEL_PATH (model.pt, or a package) as a BioImage Model Zoo package at OUT_PATH
    (.zip, else a folder), with the text of MODEL.BMZ.EXPORT and the decoder's keys."""
    import tempfile

    import numpy as np

    from ..io import InputError, atomic_directory, atomic_output, read_raw
    from ..nn.export import card_json, write_package, zip_folder
    from ..nn.model import load_model
    from ..nn.normalization import normalize_image
    from .common import settings_for

    settings = settings_for("export", config_path)
    network, meta = load_model(model_path)
    rank = meta["ndim"]
    if config_path is not None and settings.ndim != rank:
        raise click.ClickException(
            f"{model_path} is a {rank}D model but PROBLEM.NDIM of {config_path} is {settings.ndim}D"
        )
    image, _ = read_raw(image_path, rank)
    if image.shape[-1] != meta["spec"]["in_channels"]:
        raise InputError(
            f"{image_path}: {image.shape[-1]} channel(s), but the model {model_path} takes "
            f"{meta['spec']['in_channels']}"
        )
    patch = tuple(meta["patch_size"][:-1])
    window = centre_window(np.moveaxis(image, -1, 0), patch)
    test_input = window[np.newaxis].astype(np.float32)
    normalized = normalize_image(np.moveaxis(window, 0, -1), meta["normalization"])
    normalized = np.moveaxis(normalized, -1, 0)[np.newaxis]
    halo = settings.padding if config_path is not None else tuple(p // 8 for p in patch)
    text = package_text(settings, meta)
    card = card_json(meta)
    if settings.dataset:
        card = {**card, "dataset": settings.dataset}

    def write(folder: Path) -> None:
        write_package(folder, network, card, text, settings.decoder, halo, test_input, normalized)

    if out_path.endswith(".zip"):
        with tempfile.TemporaryDirectory() as folder, atomic_output(out_path) as temporary:
            write(Path(folder))
            zip_folder(Path(folder), temporary)
    else:
        with atomic_directory(out_path) as folder:
            write(folder)
    click.echo(f"{out_path}: BioImage Model Zoo package of {model_path} ({text.name})")
