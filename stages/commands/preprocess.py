"""segpipe preprocess: resize, blur, match histograms, equalise or edge-detect a raw image
(BiaPy's DATA.PREPROCESS), and resize its label image alike."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from .common import AxesOrders, axes_for, axes_orders, clear_errors, config_option, ndim_of


@dataclass(frozen=True)
class PreprocessCommandSettings:
    """What preprocess takes from a config."""

    steps: object  # stages.preprocess.PreprocessSettings
    #: the splits preprocessed (DATA.PREPROCESS.TRAIN, VAL, TEST)
    splits: tuple[str, ...]
    ndim: int
    axes: AxesOrders = ()


def settings_from_config(config) -> PreprocessCommandSettings:
    from ..preprocess import PreprocessSettings, ResizeSettings

    pre = config["DATA"]["PREPROCESS"]
    splits = tuple(s.lower() for s in ("TRAIN", "VAL", "TEST") if pre[s])
    if not splits:
        return PreprocessCommandSettings(PreprocessSettings(), (), ndim_of(config))
    ndim = ndim_of(config)
    resize = None
    if pre["RESIZE"]["ENABLE"]:
        size = pre["RESIZE"]
        resize = ResizeSettings(
            shape=tuple(int(s) for s in size["OUTPUT_SHAPE"][:ndim]),
            order=size["ORDER"],
            mode=size["MODE"],
            cval=float(size["CVAL"]),
            clip=size["CLIP"],
            anti_aliasing=size["ANTI_ALIASING"],
        )
    blur, median, clahe = pre["GAUSSIAN_BLUR"], pre["MEDIAN_BLUR"], pre["CLAHE"]
    kernel = clahe["KERNEL_SIZE"]
    canny = pre["CANNY"]
    steps = PreprocessSettings(
        resize=resize,
        gaussian_sigma=float(blur["SIGMA"]) if blur["ENABLE"] else None,
        gaussian_mode=blur["MODE"],
        # BiaPy's window names the channel axis too: its spatial sizes only
        median_size=tuple(median["KERNEL_SIZE"][:ndim]) if median["ENABLE"] else None,
        histogram_reference=(
            pre["MATCH_HISTOGRAM"]["REFERENCE_PATH"] if pre["MATCH_HISTOGRAM"]["ENABLE"] else None
        ),
        clahe_kernel=(tuple(kernel) if isinstance(kernel, list) else kernel),
        clahe_clip=float(clahe["CLIP_LIMIT"]) if clahe["ENABLE"] else None,
        canny=(canny["LOW_THRESHOLD"], canny["HIGH_THRESHOLD"]) if canny["ENABLE"] else None,
    )
    return PreprocessCommandSettings(steps, splits, ndim, axes_orders(config))


def reference_images(path: str, ndim: int) -> list:
    """The raw images of a histogram reference: a folder's images, or one image."""
    from ..io import InputError, list_images, read_raw

    folder = Path(path)
    if not folder.exists():
        raise InputError(f"DATA.PREPROCESS.MATCH_HISTOGRAM.REFERENCE_PATH {path} does not exist")
    files = list_images(folder, "histogram reference folder") if folder.is_dir() else [folder]
    return [read_raw(f, ndim)[0] for f in files]


def write_reference_histogram(path: str | Path, reference) -> None:
    """A :class:`~stages.preprocess.ReferenceHistogram` as an .npz (written atomically)."""
    import numpy as np

    from ..io import atomic_output

    arrays = {}
    for index, (values, quantiles) in enumerate(zip(reference.values, reference.quantiles)):
        arrays[f"values{index}"], arrays[f"quantiles{index}"] = values, quantiles
    with atomic_output(path) as temporary, open(temporary, "wb") as stream:
        np.savez(stream, **arrays)


def read_reference_histogram(path: str | Path):
    """The :class:`~stages.preprocess.ReferenceHistogram` :func:`write_reference_histogram`
    wrote."""
    import numpy as np

    from ..io import InputError
    from ..preprocess import ReferenceHistogram

    try:
        with np.load(path) as stored:
            count = len(stored.files) // 2
            return ReferenceHistogram(
                [stored[f"values{i}"] for i in range(count)],
                [stored[f"quantiles{i}"] for i in range(count)],
            )
    except (OSError, ValueError, KeyError) as error:
        raise InputError(
            f"{path} is not a reference histogram written by `segpipe reference-histogram` "
            f"({type(error).__name__}: {error})"
        ) from None


@click.command(name="preprocess")
@click.argument("raw_path", type=click.Path())
@click.argument("out_path", type=click.Path())
@click.option(
    "--labels",
    "label_paths",
    type=(click.Path(), click.Path()),
    default=None,
    help="LABEL_PATH OUT: also resize the raw image's label image (nearest neighbour) when "
    "DATA.PREPROCESS.RESIZE is on; else copy it.",
)
@click.option(
    "--histogram",
    "histogram_path",
    type=click.Path(),
    default=None,
    help="The reference histogram of `segpipe reference-histogram` (MATCH_HISTOGRAM), instead "
    "of reading the reference images again.",
)
@config_option
@clear_errors
def command(
    raw_path: str,
    out_path: str,
    label_paths: tuple[str, str] | None,
    histogram_path: str | None,
    config_path: str | None,
) -> None:
    """Preprocess the raw image RAW_PATH as DATA.PREPROCESS says (resize, Gaussian and median
    blur, histogram matching, CLAHE, Canny edges, in that order) into the TIFF OUT_PATH.
    Each step filters along the spatial axes of each channel, and integer images keep their
    dtype and range."""
    import numpy as np

    from ..io import read_labels_and_classes, read_raw, write_labels, write_tiff
    from ..preprocess import preprocess_image, reference_histogram, resize_labels
    from .common import log, settings_for

    settings = settings_for("preprocess", config_path)
    steps = settings.steps
    image, info = read_raw(raw_path, settings.ndim, axes_for(settings.axes, raw_path))
    reference = None
    if steps.histogram_reference is not None:
        if histogram_path is not None:
            reference = read_reference_histogram(histogram_path)
        else:
            images = reference_images(steps.histogram_reference, settings.ndim)
            reference = reference_histogram(images)
    try:
        result = preprocess_image(image, steps, reference)
    except ValueError as error:
        raise click.ClickException(f"{raw_path}: {error}") from None
    spacing = info.spacing
    if steps.resize is not None and spacing:
        # the same field of view in fewer or more pixels
        spacing = tuple(s * a / b for s, a, b in zip(spacing, image.shape, result.shape))
    label_out = None
    if label_paths is not None:
        label_path, label_out = label_paths
        labels, classes, label_info = read_labels_and_classes(
            label_path, settings.ndim, axes_for(settings.axes, label_path, label=True)
        )
        if labels.shape != image.shape[:-1]:
            raise click.ClickException(
                f"{label_path}: labels of shape {labels.shape}, but its raw image {raw_path} is "
                f"{image.shape[:-1]}"
            )
        if steps.resize is not None:
            labels = resize_labels(labels, result.shape[:-1])
            classes = None if classes is None else resize_labels(classes, result.shape[:-1])
    metadata = {"source": str(raw_path), "original_shape": list(image.shape[:-1])}
    # one channel is written without its axis, as raw images usually come
    write_tiff(out_path, result[..., 0] if result.shape[-1] == 1 else result,
               spacing=spacing, metadata=metadata)  # fmt: skip
    if label_out is not None:
        write_labels(label_out, labels, classes=classes, spacing=spacing,
                     metadata={"source": str(label_paths[0])})  # fmt: skip
    log.info("%s: %s -> %s", raw_path, list(image.shape), list(result.shape))
    click.echo(f"{out_path}: preprocessed {raw_path} ({np.dtype(result.dtype).name})")
