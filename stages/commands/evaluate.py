"""segpipe evaluate: match predicted and ground-truth instances; metrics per image and averaged."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from .common import clear_errors, config_option, ndim_of


@dataclass(frozen=True)
class EvaluateSettings:
    thresholds: tuple[float, ...]
    colored_thresholds: tuple[float, ...]
    ndim: int


def settings_from_config(config) -> EvaluateSettings:
    return EvaluateSettings(
        tuple(config["TEST"]["MATCHING_STATS_THS"]),
        tuple(config["TEST"]["MATCHING_STATS_THS_COLORED_IMG"]),
        ndim_of(config),
    )


def _thresholds(text: str | None, param: str) -> list[float] | None:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a comma-separated list of numbers", param_hint=param
        ) from None
    if not values or not all(0 <= v <= 1 for v in values):
        raise click.BadParameter(f"thresholds must lie in [0, 1], got {text!r}", param_hint=param)
    return values


@click.command(name="evaluate")
@click.option(
    "--pred",
    "pred_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder of predicted label images.",
)
@click.option(
    "--post",
    "post_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder of post-processed labels: adds BiaPy's '(post)' columns ('0.5 TH (post)f1').",
)
@click.option(
    "--gt",
    "gt_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder of ground-truth label images (paired in sorted order).",
)
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Metrics CSV (test_results_metrics.csv).",
)
@click.option(
    "--thresholds",
    default=None,
    help="IoU thresholds, comma-separated [default: TEST.MATCHING_STATS_THS].",
)
@click.option(
    "--associations",
    "associations_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder for <image>_th_<t>_gt_assoc.csv and _fp.csv [default: point_associations beside "
    "--out].",
)
@click.option(
    "--colored",
    default=None,
    help="Thresholds with an RGB association TIFF [default: TEST.MATCHING_STATS_THS_COLORED_IMG].",
)
@click.option(
    "--ndim",
    type=click.Choice(["2D", "3D"]),
    default=None,
    help="Dimensionality [default: PROBLEM.NDIM].",
)
@config_option
@clear_errors
def command(
    pred_dir: str,
    post_dir: str | None,
    gt_dir: str,
    out_path: str,
    thresholds: str | None,
    associations_dir: str | None,
    colored: str | None,
    ndim: str | None,
    config_path: str | None,
) -> None:
    """Precision, recall, accuracy, F1, panoptic quality, tp/fp/fn and mean matched IoU per image
    and threshold.

    Columns follow BiaPy ('0.5 TH f1'); the last row, file 'average', is the mean over images.
    """
    import pandas as pd

    from ..io import list_images, read_labels, write_csv, write_tiff
    from ..metrics import association_image, associations, match_instances, metrics_row
    from .common import data_rank, settings_for

    settings = settings_for("evaluate", config_path)
    ths = _thresholds(thresholds, "--thresholds") or list(settings.thresholds)
    colored_ths = _thresholds(colored, "--colored")
    colored_ths = list(settings.colored_thresholds) if colored_ths is None else colored_ths
    rank = data_rank(ndim, settings.ndim, config_path)
    gts = list_images(gt_dir, "ground-truth folder")
    sets = [("", list_images(pred_dir, "prediction folder"))]
    if post_dir:
        sets.append(("(post)", list_images(post_dir, "post-processed folder")))
    for _, preds in sets:
        if len(preds) != len(gts):
            raise click.ClickException(
                f"{len(preds)} prediction(s) in {preds[0].parent} but {len(gts)} ground-truth "
                f"image(s) in {gt_dir}"
            )
    folder = (
        Path(associations_dir) if associations_dir else Path(out_path).parent / "point_associations"
    )
    rows = []
    for index, gt_path in enumerate(gts):
        gt, _ = read_labels(gt_path, rank)
        name = sets[0][1][index].stem
        row: dict = {"file": name}
        for tag, preds in sets:
            pred_path = preds[index]
            pred, _ = read_labels(pred_path, rank or gt.ndim)
            if pred.shape != gt.shape:
                raise click.ClickException(
                    f"{pred_path} (shape {pred.shape}) and {gt_path} (shape {gt.shape}) differ "
                    "in shape"
                )
            # one IoU matrix serves the metric thresholds and the coloured ones
            by_threshold = {
                m.threshold: m for m in match_instances(gt, pred, sorted({*ths, *colored_ths}))
            }
            matchings = [by_threshold[float(th)] for th in ths]
            row.update(metrics_row(name, matchings, tag))
            stem = name + ("_post" if tag else "")
            for matching in matchings:
                gt_table, fp_table = associations(matching)
                write_csv(folder / f"{stem}_th_{matching.threshold:g}_gt_assoc.csv", gt_table)
                write_csv(folder / f"{stem}_th_{matching.threshold:g}_fp.csv", fp_table)
            for th in colored_ths:
                matching = by_threshold[float(th)]
                write_tiff(
                    folder / f"{stem}_th_{matching.threshold:g}_associations.tif",
                    association_image(gt, pred, matching),
                    rgb=True,
                )
        rows.append(row)
    table = pd.DataFrame(rows)
    average = table.drop(columns="file").mean(numeric_only=True).to_dict()
    table = pd.concat([table, pd.DataFrame([{"file": "average", **average}])], ignore_index=True)
    write_csv(out_path, table)
    for tag, _ in sets:
        for th in ths:
            key = f"{th:g} TH {tag}"
            click.echo(
                f"{'post-processed ' if tag else ''}IoU {th:g}: F1 {average[key + 'f1']:.4f}  "
                f"precision {average[key + 'precision']:.4f}  "
                f"recall {average[key + 'recall']:.4f}  PQ "
                f"{average[key + 'panoptic_quality']:.4f}  (mean of {len(rows)} image(s))"
            )
