"""A training run in a model folder: resume when the state fits, train, write the outputs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

from .checkpoints import ResumeFolder, settings_digest
from .data import Sample
from .outputs import model_card, write_history, write_model_folder
from .settings import ModelSpec, TrainSettings
from .train import TrainOutcome, train_network

log = logging.getLogger("segpipe.train")


def train_in_folder(
    samples: Sequence[Sample],
    val_samples: Sequence[Sample] | None,
    settings: TrainSettings,
    *,
    folder: Path,
    inputs_digest: str,
    normalization: dict,
    seed: int,
    log_csv: Path,
    chart_png: Path,
    fresh: bool = False,
    progress: bool = True,
    initial_weights: dict | None = None,
) -> TrainOutcome:
    """Train into ``folder`` (model.pt, model_last.pt, normalization.json, history, chart).

    Resumes from ``folder/resume`` when it was written for the same settings, normalisation,
    seed and ``inputs_digest`` (the contents of the training files); ``fresh`` discards it.
    Only the first process of a distributed run writes.
    """
    folder = Path(folder)
    resume = ResumeFolder(
        folder,
        settings_digest(
            {"settings": asdict(settings), "normalization": normalization, "seed": seed}
        ),
        inputs_digest,
    )
    if fresh:
        resume.clear()
    outcome = train_network(
        samples,
        val_samples,
        settings,
        seed=seed,
        resume=resume.load(),
        on_epoch=resume.save,
        initial_weights=initial_weights,
        progress=progress,
    )
    if outcome.main:
        write_model_folder(folder, outcome, model_card(settings, outcome, normalization, seed))
        # the model folder is <experiment>/checkpoints/<NAME>_<ID>: the run's name
        write_history(outcome.history, log_csv, chart_png, folder.name)
    return outcome


def initial_weights_for(
    path: Path, settings: TrainSettings, skip_unmatched: bool = False
) -> tuple[dict, int]:
    """The weights of the model at ``path`` to fine-tune, once it is checked to fit ``settings``,
    and the layout of its network (:attr:`ModelSpec.layout`), which the fine-tuned network
    keeps: the same tensors mean another function in another layout.

    The network (architecture, sizes, channels in and out) and the channel planes must be
    those the settings train; an error names the file and what differs. ``skip_unmatched``
    (MODEL.SKIP_UNMATCHED_LAYERS): the tensors of the same name and shape are taken, the
    others (a head for other channels, say) start from the config's network's initialisation.
    """
    from .layout import channel_layout
    from .model import build_model, load_model

    network, card = load_model(path)
    found_spec = ModelSpec.from_dict(card["spec"])
    layout = found_spec.layout
    settings = replace(settings, model=replace(settings.model, layout=layout))
    if skip_unmatched:
        target = build_model(settings.model).state_dict()
        found = network.state_dict()
        taken = {k: v for k, v in found.items() if k in target and target[k].shape == v.shape}
        if not taken:
            raise ValueError(f"{path}: no layer of this model fits the config's network")
        log.info(
            "starting from the weights of %s: %d of %d tensors taken, %d left as initialised "
            "(MODEL.SKIP_UNMATCHED_LAYERS)",
            path, len(taken), len(target), len(target) - len(taken),
        )  # fmt: skip
        return {**target, **taken}, layout
    wanted = settings.model.as_dict()
    found = found_spec.as_dict()
    differences = []
    try:
        # the config's network takes these weights: keys the architecture ignores may differ
        build_model(settings.model).load_state_dict(network.state_dict())
    except (RuntimeError, ValueError):
        differences = [
            f"{key} {found.get(key)} (wanted {wanted[key]})"
            for key in wanted
            if found.get(key) != wanted[key]
        ] or ["the network's weights (same settings, another layout)"]
    planes = channel_layout(
        list(settings.codes), settings.channel_options, len(settings.patch), settings.n_classes
    ).planes
    if list(card["channels"]) != list(planes):
        differences.append(f"channels {card['channels']} (wanted {list(planes)})")
    if differences:
        raise ValueError(
            f"{path}: cannot fine-tune this model with this config: " + "; ".join(differences)
        )
    log.info("starting from the weights of %s", path)
    return network.state_dict(), layout
