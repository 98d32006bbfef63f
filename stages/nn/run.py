"""A training run in a model folder: resume when the state fits, train, write the outputs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from .checkpoints import ResumeFolder, settings_digest
from .data import Sample
from .outputs import model_card, write_history, write_model_folder
from .settings import TrainSettings
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
        progress=progress,
    )
    if outcome.main:
        write_model_folder(folder, outcome, model_card(settings, outcome, normalization, seed))
        # the model folder is <experiment>/checkpoints/<NAME>_<ID>: the run's name
        write_history(outcome.history, log_csv, chart_png, folder.name)
    return outcome
