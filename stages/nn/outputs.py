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
    return card_for(
        settings,
        normalization,
        {
            "epochs": outcome.epochs,
            "best_epoch": outcome.best_epoch,
            "best_val_loss": outcome.best_val_loss,
            "seed": seed,
            "processes": outcome.processes,
        },
    )


def card_for(settings: TrainSettings, normalization: dict, training: dict) -> ModelCard:
    """The card of a network of ``settings`` however its weights came (trained, imported):
    its channels from the settings' codes, ``training`` (plus provenance) as its history."""
    layout = channel_layout(
        list(settings.codes), settings.channel_options, len(settings.patch), settings.n_classes
    )
    return ModelCard(
        spec=settings.model,
        channels=tuple(layout.planes),
        codes=tuple(settings.codes),
        channel_options=layout.options,
        activations=tuple(layout.activations),
        normalization=normalization,
        patch_size=(*settings.patch, settings.model.in_channels),
        training={**training, "provenance": provenance()},
    )


def write_model_folder(folder: Path, outcome: TrainOutcome, card: ModelCard) -> None:
    """model.pt, model_last.pt and normalization.json, each written atomically."""
    save_model(folder / "model.pt", outcome.best_weights, card)
    save_model(folder / "model_last.pt", outcome.last_weights, card)
    write_json(folder / "normalization.json", card.normalization)


def write_history(rows: list[dict], csv_path: Path, chart_path: Path, title: str) -> None:
    """The history rows (epoch, train_loss, val_loss, lr, ...) as a CSV and a PNG chart.

    The chart shows the weighted train and validation losses, one thin line per channel
    (train dotted, validation dashed, in the channel's colour) and the best epoch.
    """
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    write_csv(csv_path, pd.DataFrame(rows))
    figure, axis = plt.subplots(figsize=(7, 4.5))
    epochs = [r["epoch"] for r in rows]
    marker = "o" if len(epochs) < 10 else None  # a single epoch is a point, not a line
    axis.plot(epochs, [r["train_loss"] for r in rows], "k-", marker=marker, label="train")
    axis.plot(epochs, [r["val_loss"] for r in rows], "k--", marker=marker, label="validation")
    codes = [key[len("val_loss_") :] for key in rows[0] if key.startswith("val_loss_")]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, code in enumerate(codes):
        colour = colours[index % len(colours)]
        if f"train_loss_{code}" in rows[0]:
            axis.plot(epochs, [r[f"train_loss_{code}"] for r in rows], color=colour, ls=":", lw=1)
        axis.plot(
            epochs, [r[f"val_loss_{code}"] for r in rows], color=colour, ls="--", lw=1, label=code
        )
    best = min(rows, key=lambda r: r["val_loss"])
    axis.axvline(best["epoch"], color="grey", lw=0.8)
    axis.annotate(
        f"best: epoch {best['epoch']}",
        (best["epoch"], best["val_loss"]),
        textcoords="offset points",
        xytext=(4, 8),
        fontsize=8,
    )
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlabel("epoch")
    axis.set_ylabel("loss (channels: train dotted, validation dashed)")
    axis.set_title(f"{title}: training loss")
    axis.legend(fontsize=8)
    figure.tight_layout()
    with atomic_output(chart_path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    plt.close(figure)
