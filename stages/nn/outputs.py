"""What a finished training run leaves in its model folder.

``model.pt`` (the best epoch's weights with the model card), ``model_last.pt`` (the last
epoch's), ``normalization.json``, the per-epoch history CSV and its loss chart.
"""

from __future__ import annotations

from pathlib import Path

from ..io import atomic_output, provenance, write_csv, write_json
from .layout import channel_layout
from .model import ModelCard, save_model
from .settings import TrainSettings
from .train import TrainOutcome


def model_card(
    settings: TrainSettings, outcome: TrainOutcome, normalization: dict, seed: int
) -> ModelCard:
    """The card saved beside the weights: how to rebuild and apply the trained network."""
    layout = channel_layout(list(settings.codes), settings.channel_options, len(settings.patch))
    return ModelCard(
        spec=settings.model,
        channels=tuple(layout.planes),
        codes=tuple(settings.codes),
        channel_options=layout.options,
        activations=tuple(layout.activations),
        normalization=normalization,
        patch_size=(*settings.patch, settings.model.in_channels),
        training={
            "epochs": outcome.epochs,
            "best_epoch": outcome.best_epoch,
            "best_val_loss": outcome.best_val_loss,
            "seed": seed,
            "processes": outcome.processes,
            "provenance": provenance(),
        },
    )


def write_model_folder(folder: Path, outcome: TrainOutcome, card: ModelCard) -> None:
    """model.pt, model_last.pt and normalization.json, each written atomically."""
    save_model(folder / "model.pt", outcome.best_weights, card)
    save_model(folder / "model_last.pt", outcome.last_weights, card)
    write_json(folder / "normalization.json", card.normalization)


def write_history(rows: list[dict], csv_path: Path, chart_path: Path, title: str) -> None:
    """The history rows (epoch, train_loss, val_loss, lr, ...) as a CSV and a PNG chart."""
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    write_csv(csv_path, pd.DataFrame(rows))
    figure, axis = plt.subplots(figsize=(6, 4))
    epochs = [r["epoch"] for r in rows]
    axis.plot(epochs, [r["train_loss"] for r in rows], label="train")
    axis.plot(epochs, [r["val_loss"] for r in rows], label="validation")
    axis.set_xlabel("epoch")
    axis.set_ylabel("loss")
    axis.set_title(title)
    axis.legend()
    figure.tight_layout()
    with atomic_output(chart_path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    plt.close(figure)
