"""segpipe evaluate: match predicted and ground-truth instances; metrics per image and averaged."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from .common import axes_for, axes_orders, chunk_halo, clear_errors, config_option, ndim_of


@dataclass(frozen=True)
class EvaluateSettings:
    thresholds: tuple[float, ...]
    colored_thresholds: tuple[float, ...]
    ndim: int
    axes: tuple = ()  # the splits' axes orders for Zarr/HDF5 images (common.axes_orders)
    halo: tuple[int, ...] = ()  # ground truth encoded around each block (channel IoU by blocks)


def settings_from_config(config) -> EvaluateSettings:
    return EvaluateSettings(
        tuple(config["TEST"]["MATCHING_STATS_THS"]),
        tuple(config["TEST"]["MATCHING_STATS_THS_COLORED_IMG"]),
        ndim_of(config),
        axes_orders(config),
        # the decoding halo, read (with the patch size it defaults to) only for block decoding
        chunk_halo(config) if config["TEST"]["BY_CHUNKS"]["ENABLE"] else (),
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


def _files(values: tuple[str, ...], what: str) -> list[Path]:
    """The label files named by ``values``: a folder stands for its images (sorted); a
    container (a Zarr of channels, say) is one image."""
    from ..containers import is_container
    from ..io import InputError, list_images

    files: list[Path] = []
    for value in values:
        path = Path(value)
        if path.is_dir() and not is_container(path):
            files += list_images(path, what)
        elif path.is_file() or (is_container(path) and path.exists()):
            files.append(path)
        else:
            raise InputError(f"{what} {path} does not exist")
    return files


def pair_by_name(gts: list[Path], preds: list[Path], what: str) -> list[tuple[str, Path, Path]]:
    """(name, ground truth, prediction) for files of the same name (stem; a ground truth
    inside a Zarr container by the container's); unpaired names are refused, naming the
    first."""
    from ..io import InputError, image_name

    by_name = {p.stem: p for p in preds}
    if len(by_name) != len(preds):
        raise InputError(f"two {what} files share a name apart from the suffix")
    missing = [g for g in gts if image_name(g) not in by_name]
    if missing:
        raise InputError(f"{missing[0]}: no {what} named {image_name(missing[0])!r}")
    extra = sorted(set(by_name) - {image_name(g) for g in gts})
    if extra:
        raise InputError(f"{by_name[extra[0]]}: no ground truth named {extra[0]!r}")
    return [(image_name(g), g, by_name[image_name(g)]) for g in gts]


def pair_in_order(gts: list[Path], preds: list[Path], what: str) -> list[tuple[str, Path, Path]]:
    """(name, ground truth, prediction) in the given order, named by the prediction."""
    from ..io import InputError

    if len(preds) != len(gts):
        raise InputError(f"{len(preds)} {what} file(s) but {len(gts)} ground-truth file(s)")
    return [(p.stem, g, p) for g, p in zip(gts, preds)]


def class_metrics(
    gt, gt_classes, pred, pred_classes, thresholds: list[float], tag: str, name: str
) -> dict:
    """The class columns of one image's row: 'IoU (classes)' of the class maps, the metrics with
    an instance matching only one of its class ('(classes)'), and per class ('(class 2)')."""
    from ..metrics import class_iou, match_instances, match_instances_per_class, metrics_row

    row = {f"{tag}IoU (classes)": class_iou(gt_classes, pred_classes)}
    aware = match_instances(gt, pred, thresholds, classes=(gt_classes, pred_classes))
    row.update(metrics_row(name, aware, f"{tag}(classes)"))
    per_class = match_instances_per_class(gt, gt_classes, pred, pred_classes, thresholds)
    for value, matchings in per_class.items():
        row.update(metrics_row(name, matchings, f"{tag}(class {value})"))
    del row["file"]
    return row


@dataclass(frozen=True)
class ImagePair:
    """One test image's files: its ground truth, its predictions ('' and '(post)' tags) and
    its predicted channels (or None)."""

    name: str
    gt_path: Path
    preds: list[tuple[str, Path]]
    channel_path: Path | None


def _write_associations(folder: Path, stem: str, matchings) -> None:
    from ..io import write_csv
    from ..metrics import associations

    for matching in matchings:
        gt_table, fp_table = associations(matching)
        write_csv(folder / f"{stem}_th_{matching.threshold:g}_gt_assoc.csv", gt_table)
        write_csv(folder / f"{stem}_th_{matching.threshold:g}_fp.csv", fp_table)


def _record_matchings(
    row: dict, image: ImagePair, tag: str, found: list, ths: list, folder: Path
) -> tuple[str, dict]:
    """Add one prediction's metric columns (``found``: its matchings at every threshold) to
    ``row`` and write its association tables; returns its file stem and the matchings by
    threshold (for the pictures)."""
    from ..metrics import metrics_row

    by_threshold = {m.threshold: m for m in found}
    matchings = [by_threshold[float(th)] for th in ths]
    row.update(metrics_row(image.name, matchings, tag))
    stem = image.name + ("_post" if tag else "")
    _write_associations(folder, stem, matchings)
    return stem, by_threshold


def _shape_mismatch(path, shape, gt_path, gt_shape) -> click.ClickException:
    return click.ClickException(
        f"{path} (shape {tuple(shape)}) and {gt_path} (shape {tuple(gt_shape)}) differ in shape"
    )


def _channel_columns(scores: list[dict[str, float]], per_patch: bool) -> dict:
    row = {f"IoU {code}": iou for code, iou in scores[0].items()}
    if per_patch:
        row.update({f"IoU {code} (per patch)": iou for code, iou in scores[1].items()})
    return row


def _row_whole(
    image: ImagePair, ths: list, colored_ths: list, folder: Path, settings, rank: int | None
) -> dict:
    """One image's row, its label images read whole."""
    from ..io import read_channels, read_labels_and_classes, write_tiff
    from ..metrics import association_image, channel_ious, match_instances

    gt, gt_classes, _ = read_labels_and_classes(
        image.gt_path, rank, axes_for(settings.axes, image.gt_path, label=True)
    )
    row: dict = {"file": image.name}
    for tag, pred_path in image.preds:
        pred, pred_classes, _ = read_labels_and_classes(pred_path, rank or gt.ndim)
        if pred.shape != gt.shape:
            raise _shape_mismatch(pred_path, pred.shape, image.gt_path, gt.shape)
        if gt_classes is not None and pred_classes is not None:
            row.update(class_metrics(gt, gt_classes, pred, pred_classes, ths, tag, image.name))
        # one set of overlaps serves the metric thresholds and the coloured ones
        found = match_instances(gt, pred, sorted({*ths, *colored_ths}))
        stem, by_threshold = _record_matchings(row, image, tag, found, ths, folder)
        for th in colored_ths:
            matching = by_threshold[float(th)]
            write_tiff(
                folder / f"{stem}_th_{matching.threshold:g}_associations.tif",
                association_image(gt, pred, matching),
                rgb=True,
            )
    if image.channel_path is not None:
        channels, planes, info = read_channels(image.channel_path)
        if channels.shape[1:] != gt.shape:
            raise _shape_mismatch(image.channel_path, channels.shape[1:], image.gt_path, gt.shape)
        options = info.metadata.get("channel_options") or {}
        core = info.metadata.get("core_size")
        per_patch = bool(core) and len(core) == gt.ndim
        scores = channel_ious(
            channels, planes, gt, options, patches=[None, core] if per_patch else [None]
        )
        row.update(_channel_columns(scores, per_patch))
    return row


def _row_by_blocks(
    image: ImagePair, ths: list, colored_ths: list, folder: Path, settings, rank: int | None
) -> dict | None:
    """One image's row, its label images read block by block (a Zarr or HDF5 among its files:
    a volume that may not fit in memory); None when both sides have class channels (the class
    metrics read whole images). Association pictures are Zarr arrays, written by blocks."""
    from ..containers import create_picture_store
    from ..evaluate_blocks import (
        BLOCK_UNIT,
        blockwise_channel_counts,
        evaluation_block,
        open_label_blocks,
        write_association_blocks,
    )
    from ..io import atomic_directory, open_channels
    from ..metrics import channel_scores, match_counts
    from ..overlap_counts import blockwise_counts

    gt = open_label_blocks(image.gt_path, rank, axes_for(settings.axes, image.gt_path, True))
    opened = [gt]
    try:
        preds = []
        for tag, pred_path in image.preds:
            opened.append(open_label_blocks(pred_path, rank or len(gt.shape)))
            if opened[-1].shape != gt.shape:
                raise _shape_mismatch(pred_path, opened[-1].shape, image.gt_path, gt.shape)
            preds.append((tag, opened[-1]))
        if gt.has_classes and any(pred.has_classes for _, pred in preds):
            return None
        ndim = len(gt.shape)
        unit, per_patch = (BLOCK_UNIT,) * ndim, False
        if image.channel_path is not None:
            channels, planes, info = open_channels(image.channel_path)
            if tuple(channels.shape[1:]) != gt.shape:
                raise _shape_mismatch(
                    image.channel_path, channels.shape[1:], image.gt_path, gt.shape
                )
            core = info.metadata.get("core_size")
            per_patch = bool(core) and len(core) == ndim
            unit = tuple(core) if per_patch else unit
        block = evaluation_block(gt.shape, unit)
        row: dict = {"file": image.name}
        for tag, pred in preds:
            found = match_counts(blockwise_counts(gt, pred, block), sorted({*ths, *colored_ths}))
            stem, by_threshold = _record_matchings(row, image, tag, found, ths, folder)
            for th in colored_ths:
                matching = by_threshold[float(th)]
                target = folder / f"{stem}_th_{matching.threshold:g}_associations.zarr"
                with atomic_directory(target) as temporary:
                    picture = create_picture_store(temporary, gt.shape, block)
                    write_association_blocks(gt, pred, matching, block, picture)
        if image.channel_path is not None:
            halo = settings.halo if len(settings.halo) == ndim else tuple(core or unit)
            counts = blockwise_channel_counts(
                channels,
                planes,
                gt,
                info.metadata.get("channel_options") or {},
                block,
                halo,
                patches=[None, core] if per_patch else [None],
            )
            scores = channel_scores(counts) or [{}, {}]
            row.update(_channel_columns(scores, per_patch))
        return row
    finally:
        for labels in opened:
            labels.close()


@click.command(name="evaluate")
@click.option(
    "--pred",
    "pred_paths",
    required=True,
    multiple=True,
    type=click.Path(),
    help="Predicted label images: a folder, or files (repeat the option).",
)
@click.option(
    "--post",
    "post_paths",
    multiple=True,
    type=click.Path(),
    help="Post-processed labels (folder or files): adds BiaPy's '(post)' columns "
    "('0.5 TH (post)f1').",
)
@click.option(
    "--gt",
    "gt_paths",
    required=True,
    multiple=True,
    type=click.Path(),
    help="Ground-truth label images (folder or files), paired with the predictions by name.",
)
@click.option(
    "--channels",
    "channel_paths",
    multiple=True,
    type=click.Path(),
    help="Predicted channel maps (per_image/, folder or files), paired like --pred: adds the IoU "
    "of each binary channel against the same channel encoded from the ground truth.",
)
@click.option(
    "--in-order",
    is_flag=True,
    help="Pair the files in the order given instead of by name (the workflow pairs test "
    "images and ground truth in sorted order, as BiaPy does).",
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
    pred_paths: tuple[str, ...],
    post_paths: tuple[str, ...],
    gt_paths: tuple[str, ...],
    channel_paths: tuple[str, ...],
    in_order: bool,
    out_path: str,
    thresholds: str | None,
    associations_dir: str | None,
    colored: str | None,
    ndim: str | None,
    config_path: str | None,
) -> None:
    """Precision, recall, accuracy, F1, panoptic quality, tp/fp/fn and mean matched IoU per image
    and threshold.

    Predictions pair with the ground truth of the same name (--in-order: in the order given);
    a name without its partner is an error. Columns follow BiaPy ('0.5 TH f1'); the last row,
    file 'average', is the mean over images. An image empty in both is a perfect match.
    """
    import pandas as pd

    from ..containers import is_container
    from ..io import write_csv
    from .common import data_rank, settings_for

    settings = settings_for("evaluate", config_path)
    ths = _thresholds(thresholds, "--thresholds") or list(settings.thresholds)
    colored_ths = _thresholds(colored, "--colored")
    colored_ths = list(settings.colored_thresholds) if colored_ths is None else colored_ths
    rank = data_rank(ndim, settings.ndim, config_path)
    gts = _files(gt_paths, "ground truth")
    pair = pair_in_order if in_order else pair_by_name
    sets = [("", pair(gts, _files(pred_paths, "prediction"), "prediction"))]
    if post_paths:
        sets.append(("(post)", pair(gts, _files(post_paths, "post-processed"), "post-processed")))
    channel_pairs = (
        pair(gts, _files(channel_paths, "channel map"), "channel map") if channel_paths else None
    )
    folder = (
        Path(associations_dir) if associations_dir else Path(out_path).parent / "point_associations"
    )
    rows = []
    for index, gt_path in enumerate(gts):
        name = sets[0][1][index][0]
        preds = [(tag, pairs[index][2]) for tag, pairs in sets]
        image = ImagePair(name, gt_path, preds, channel_pairs[index][2] if channel_pairs else None)
        row = None
        files = (gt_path, *(path for _, path in preds), image.channel_path)
        if any(path is not None and is_container(path) for path in files):
            row = _row_by_blocks(image, ths, colored_ths, folder, settings, rank)
        rows.append(row or _row_whole(image, ths, colored_ths, folder, settings, rank))
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
