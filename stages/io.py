"""TIFF reading and atomic writing, channel-code metadata, raw/label pairing.

Every writer goes through :func:`atomic_output`: data are written to a temporary
name in the destination folder and renamed when complete, so a failed or killed
stage leaves no partial file behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from .labels.check import label_dtype

IMAGE_SUFFIXES = (".tif", ".tiff", ".zarr", ".h5", ".hdf5", ".hdf")


class InputError(ValueError):
    """Bad input data; the message names the file."""


@dataclass
class ImageInfo:
    """What a TIFF says besides its pixels."""

    spacing: tuple[float, ...] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def _umask() -> int:
    """The process umask, read without changing it (from /proc where there is one)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore at once
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent
    )
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        # mkstemp makes 0600 files; outputs get the mode any new file gets (0666 less the
        # umask), so that a group sharing a cluster folder can read models and results
        os.chmod(temporary_path, 0o666 & ~_umask())
        os.replace(temporary_path, path)
    finally:
        if temporary_path.exists():
            temporary_path.unlink()


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; it replaces ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield temporary
        os.chmod(temporary, 0o777 & ~_umask())
        if path.is_dir():
            shutil.rmtree(path)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary)


def list_images(folder: str | Path, what: str = "image folder", inside: str = "") -> list[Path]:
    """Sorted images of ``folder`` (TIFF files, Zarr and HDF5 containers); an error names the
    folder when it is missing or empty.

    ``inside``: BiaPy's INPUT_ZARR_MULTIPLE_DATA path of an array inside each Zarr container
    of the folder ('volumes.raw'); the arrays at that path are listed instead, named by their
    container (:func:`image_name`)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{what} {folder} does not exist")
    files = sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )
    if not files:
        raise InputError(
            f"{what} {folder} holds no images (.tif/.tiff, OME-Zarr or Zarr .zarr, HDF5 .h5)"
        )
    if inside:
        files = [array_inside(container, inside, what) for container in files]
    seen: dict[str, Path] = {}
    for path in files:
        name = image_name(path)
        if name in seen:
            # every output (channels, predictions, labels) is named by the stem
            raise InputError(
                f"{what} {folder}: {seen[name].name} and {path.name} share the name "
                f"{name!r}; rename one"
            )
        seen[name] = path
    return files


def array_inside(container: Path, inside: str, what: str = "image folder") -> Path:
    """The folder of the Zarr array at ``inside`` (groups separated by dots, as BiaPy writes
    them, or slashes) of ``container``; an error names both when it holds none there."""
    from .containers import ZARR_SUFFIXES, holds_one_image

    if container.suffix.lower() not in ZARR_SUFFIXES:
        raise InputError(
            f"{what}: {container} is not a Zarr container (.zarr); with "
            "INPUT_ZARR_MULTIPLE_DATA every image is one"
        )
    parts = [part for part in inside.replace("/", ".").split(".") if part]
    array = container.joinpath(*parts)
    if not (parts and array.is_dir() and holds_one_image(array)):
        raise InputError(f"{what}: {container} holds no array at {inside!r}")
    return array


def _zarr_holding(path: Path) -> Path | None:
    """The Zarr container an array folder lies inside (INPUT_ZARR_MULTIPLE_DATA), else None."""
    from .containers import ZARR_SUFFIXES

    for parent in path.parents:
        if parent.suffix.lower() in ZARR_SUFFIXES and parent.is_dir():
            return parent
    return None


def image_name(path: str | Path) -> str:
    """The name an input image's outputs take: its file's stem, or for an array inside a Zarr
    container (BiaPy's INPUT_ZARR_MULTIPLE_DATA) the container's stem."""
    container = _zarr_holding(Path(path))
    return (container or Path(path)).stem


def listing_folder(path: str | Path) -> Path:
    """The folder an input image is listed from: its parent, or for an array inside a Zarr
    container the container's."""
    container = _zarr_holding(Path(path))
    return (container or Path(path)).parent


#: OME length units, in micrometres
_OME_UNITS = {"nm": 1e-3, "µm": 1.0, "um": 1.0, "mm": 1e3, "cm": 1e4, "m": 1e6}


def _ome_spacing(tif: tifffile.TiffFile, ndim: int) -> tuple[float, ...] | None:
    """PhysicalSize{Z,Y,X} of an OME-TIFF's first image, in micrometres."""
    import xml.etree.ElementTree as ElementTree

    try:
        root = ElementTree.fromstring(tif.ome_metadata)
    except (ElementTree.ParseError, TypeError):
        return None
    pixels = next((e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "Pixels"), None)
    if pixels is None:
        return None
    sizes = []
    for axis in "ZYX"[3 - ndim :]:
        value = pixels.get(f"PhysicalSize{axis}")
        if value is None:
            if axis == "Z":
                sizes.append(1.0)
                continue
            return None
        unit = _OME_UNITS.get(pixels.get(f"PhysicalSize{axis}Unit", "µm"))
        if unit is None:
            return None
        sizes.append(float(value) * unit)
    return tuple(sizes)


def _spacing(tif: tifffile.TiffFile, ndim: int) -> tuple[float, ...] | None:
    """The pixel size: segpipe's own metadata, OME's PhysicalSize, ImageJ's resolution and
    spacing, in that order; None when the file has none."""
    meta = tif.shaped_metadata[0] if tif.shaped_metadata else {}
    if isinstance(meta, dict) and meta.get("spacing"):
        return tuple(float(v) for v in meta["spacing"])
    if tif.is_ome:
        found = _ome_spacing(tif, ndim)
        if found is not None:
            return found
    page = tif.pages[0]
    tags = page.tags
    if "XResolution" not in tags or "YResolution" not in tags:
        return None
    x_num, x_den = tags["XResolution"].value
    y_num, y_den = tags["YResolution"].value
    if not x_num or not y_num:
        return None
    x, y = x_den / x_num, y_den / y_num
    if (x, y) == (1.0, 1.0) and not tif.imagej_metadata:
        return None
    z = float((tif.imagej_metadata or {}).get("spacing", 1.0))
    return (z, y, x) if ndim == 3 else (y, x)


def read_tiff(path: str | Path, ndim: int | None = None) -> tuple[np.ndarray, ImageInfo]:
    """Pixels and metadata of a TIFF; an unreadable file is an InputError naming it."""
    path = Path(path)
    try:
        with tifffile.TiffFile(path) as tif:
            array = tif.asarray()
            meta = tif.shaped_metadata[0] if tif.shaped_metadata else {}
            spacing = _spacing(tif, ndim or min(array.ndim, 3))
    except FileNotFoundError:
        raise InputError(f"{path} does not exist") from None
    except Exception as error:  # tifffile raises several types for corrupt files
        raise InputError(
            f"{path} is not a readable TIFF ({type(error).__name__}: {error})"
        ) from None
    return array, ImageInfo(spacing=spacing, metadata=dict(meta) if isinstance(meta, dict) else {})


def read_image(
    path: str | Path, ndim: int | None = None, axes: str | None = None
) -> tuple[np.ndarray, ImageInfo]:
    """Pixels and metadata of a TIFF, or of a Zarr/OME-Zarr/HDF5 container in segpipe's order
    (``axes``: BiaPy's INPUT_IMG_AXES_ORDER for a container that does not say its own)."""
    from .containers import ContainerError, is_container, read_container

    if not is_container(path):
        return read_tiff(path, ndim)
    try:
        data, order, spacing = read_container(path, axes)
    except ContainerError as error:
        raise InputError(str(error)) from None
    return data, ImageInfo(spacing=spacing, metadata={"axes": order} if order else {})


def tiff_metadata(path: str | Path) -> dict:
    """The JSON metadata segpipe wrote into a TIFF, without reading its pixels."""
    try:
        with tifffile.TiffFile(path) as tif:
            meta = tif.shaped_metadata[0] if tif.shaped_metadata else {}
    except FileNotFoundError:
        raise InputError(f"{path} does not exist") from None
    except Exception as error:  # tifffile raises several types for corrupt files
        raise InputError(
            f"{path} is not a readable TIFF ({type(error).__name__}: {error})"
        ) from None
    return dict(meta) if isinstance(meta, dict) else {}


def raw_to_channel_last(image: np.ndarray, ndim: int, path: str | Path) -> np.ndarray:
    """A raw image as ([Z,] Y, X, C), BiaPy's channel-last convention.

    A channel-first image (first axis of at most 4 and last axis larger) is
    accepted and moved; anything else of the wrong rank is an error naming the file.
    """
    if image.ndim == ndim:
        return image[..., np.newaxis]
    if image.ndim == ndim + 1:
        if image.shape[0] <= 4 < image.shape[-1]:
            return np.moveaxis(image, 0, -1)
        return image
    raise InputError(
        f"{path}: raw image of shape {image.shape} is not {ndim}D (expected "
        f"{'(Y,X[,C])' if ndim == 2 else '(Z,Y,X[,C])'} for PROBLEM.NDIM {ndim}D)"
    )


def read_raw(path: str | Path, ndim: int, axes: str | None = None) -> tuple[np.ndarray, ImageInfo]:
    """A raw image as ([Z,] Y, X, C); ``axes``: the order of a container's array when it does
    not say its own (BiaPy's INPUT_IMG_AXES_ORDER)."""
    image, info = read_image(path, ndim, axes)
    order = info.metadata.get("axes")
    if isinstance(order, str) and container_axes(order) and "C" not in order:
        image = image[..., np.newaxis]  # a container said its axes: no channel axis
    elif not (isinstance(order, str) and container_axes(order)):
        image = raw_to_channel_last(image, ndim, path)
    if image.ndim != ndim + 1:
        raise InputError(
            f"{path}: raw image of shape {image.shape[:-1]} is not {ndim}D (PROBLEM.NDIM {ndim}D)"
        )
    if image.size == 0:
        raise InputError(f"{path}: raw image is empty (shape {image.shape})")
    if not (np.issubdtype(image.dtype, np.number) or image.dtype == bool):
        raise InputError(f"{path}: raw image has non-numeric dtype {image.dtype}")
    check_finite(image, path, "raw image")
    return image, info


def container_axes(order: str) -> bool:
    """Whether ``order`` is the axes a container was read as (spatial, then C last)."""
    return order in ("YX", "ZYX", "YXC", "ZYXC")


def check_finite(array: np.ndarray, path: str | Path, what: str) -> None:
    """Refuse NaN or infinite values, which would turn every prediction from them into NaN."""
    if not np.issubdtype(array.dtype, np.inexact):
        return
    finite = np.isfinite(array)
    if not finite.all():
        raise InputError(
            f"{path}: {what} holds {finite.size - int(np.count_nonzero(finite))} NaN or infinite "
            "value(s); fix or replace them (for example with 0) and run again"
        )


def labels_from_array(labels: np.ndarray, ndim: int, path: str | Path) -> np.ndarray:
    """Validate an instance label array read from ``path`` (a trailing 1-channel is dropped;
    of a trailing 2-channel, instance ids and classes, the ids are kept).

    The rank must be ``ndim``; the rest is :func:`stages.labels.check_labels`, its error
    naming the file.
    """
    return labels_and_classes_from_array(labels, ndim, path)[0]


def labels_and_classes_from_array(
    labels: np.ndarray, ndim: int, path: str | Path
) -> tuple[np.ndarray, np.ndarray | None]:
    """Instance ids and, for BiaPy's two-channel label images (ids, classes; channel last),
    the class ids; None without a class channel. Errors name the file."""
    from .labels import check_labels

    classes = None
    if labels.ndim == ndim + 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    elif labels.ndim == ndim + 1 and labels.shape[-1] == 2:
        labels, classes = labels[..., 0], labels[..., 1]
    if labels.ndim != ndim:
        raise InputError(
            f"{path}: label image of shape {labels.shape} is not {ndim}D (PROBLEM.NDIM is {ndim}D)"
        )
    if labels.size == 0:
        raise InputError(f"{path}: label image is empty (shape {labels.shape})")
    try:
        labels = check_labels(labels, "labels")
        if classes is not None:
            classes = check_labels(classes, "the class channel (second channel)")
    except ValueError as error:
        raise InputError(f"{path}: {error}") from None
    return labels, classes


def label_rank(shape: tuple[int, ...], metadata: dict, path: str | Path) -> int:
    """2 or 3: the spatial rank of a label image, from the axes segpipe wrote or else its shape.

    (Y, X) is 2D; (Z, Y, X) is 3D unless its last axis is 1 ((Y, X, 1): 2D with a channel);
    (Z, Y, X, 1) is 3D. Any other shape is ambiguous: an error naming the file and the flag.
    """
    axes = metadata.get("axes")
    if isinstance(axes, str) and set(axes) <= set("CZYX"):
        return len(axes.replace("C", ""))
    if len(shape) == 2:
        return 2
    if len(shape) == 3:
        return 2 if shape[-1] == 1 else 3
    if len(shape) == 4 and shape[-1] == 1:
        return 3
    raise InputError(
        f"{path}: cannot tell whether a label image of shape {shape} is 2D or 3D; "
        "give --ndim (or a --config with PROBLEM.NDIM)"
    )


def read_labels(
    path: str | Path, ndim: int | None = None, axes: str | None = None
) -> tuple[np.ndarray, ImageInfo]:
    """Instance labels of ``ndim`` dimensions (``None``: from the file, :func:`label_rank`).

    Of a label image with classes only the instance ids; see :func:`read_labels_and_classes`.
    """
    labels, classes, info = read_labels_and_classes(path, ndim, axes)
    return labels, info


def read_labels_and_classes(
    path: str | Path, ndim: int | None = None, axes: str | None = None
) -> tuple[np.ndarray, np.ndarray | None, ImageInfo]:
    """Instance ids, class ids (None when the file has no class channel) and metadata;
    ``axes`` as for :func:`read_raw` (BiaPy's INPUT_MASK_AXES_ORDER)."""
    labels, info = read_image(path, ndim, axes)
    if ndim is None:
        ndim = label_rank(labels.shape, info.metadata, path)
        if len(info.spacing or ()) not in (0, ndim):
            info = ImageInfo(spacing=info.spacing[-ndim:], metadata=info.metadata)
    instances, classes = labels_and_classes_from_array(labels, ndim, path)
    return instances, classes, info


def write_tiff(
    path: str | Path,
    array: np.ndarray,
    *,
    spacing: tuple[float, ...] | None = None,
    metadata: dict[str, Any] | None = None,
    rgb: bool = False,
) -> None:
    """Write ``array`` atomically with JSON metadata (channel codes, spacing, provenance).

    Channels are grey planes unless ``rgb`` (a (..., 3) uint8 picture).
    """
    metadata = dict(metadata or {})
    kwargs: dict[str, Any] = {"photometric": "rgb" if rgb else "minisblack"}
    if spacing is not None:
        metadata["spacing"] = [float(s) for s in spacing]
        kwargs["resolution"] = (1.0 / spacing[-1], 1.0 / spacing[-2])
    with atomic_output(path) as temporary:
        tifffile.imwrite(temporary, array, metadata=metadata, **kwargs)


def write_labels(
    path: str | Path,
    labels: np.ndarray,
    *,
    classes: np.ndarray | None = None,
    spacing: tuple[float, ...] | None = None,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Write an instance label image as uint16 when its ids fit, else uint32.

    With ``classes``, BiaPy's two-channel label image: ids then classes, channel last.
    """
    dtype = label_dtype(int(labels.max()) if labels.size else 0)
    if classes is None:
        write_tiff(path, labels.astype(dtype, copy=False), spacing=spacing, metadata=metadata)
        return
    if int(classes.max(initial=0)) > np.iinfo(dtype).max:
        dtype = np.uint32
    stacked = np.stack([labels.astype(dtype, copy=False), classes.astype(dtype, copy=False)], -1)
    axes = ("ZYX" if labels.ndim == 3 else "YX") + "C"
    write_tiff(path, stacked, spacing=spacing, metadata={**(metadata or {}), "axes": axes})


class ChannelStoreRegions:
    """The channels of a store written block by block, read by regions (any index a Zarr
    array takes); a region holding a block that was never predicted is an InputError."""

    def __init__(self, array, path: str | Path):
        self.array, self.path = array, path
        self.shape, self.ndim, self.dtype = tuple(array.shape), array.ndim, np.dtype(np.float32)

    def __getitem__(self, index) -> np.ndarray:
        values = np.asarray(self.array[index], dtype=np.float32)
        if np.isnan(values).any():
            raise InputError(
                f"{self.path}: channels at {index} were never predicted (a predict-blocks job "
                "is missing or failed); predict its blocks again"
            )
        check_finite(values, self.path, "channel image")
        return values

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        values = self[...]
        return values if dtype is None else values.astype(dtype, copy=False)


def open_channels(path: str | Path) -> tuple[Any, list[str], ImageInfo]:
    """Like :func:`read_channels`, but a channel store (Zarr) is left on disk and read region
    by region (:class:`ChannelStoreRegions`); a TIFF is read whole."""
    from .containers import ContainerError, is_container, open_channel_store

    if not is_container(path):
        return read_channels(path)
    try:
        array = open_channel_store(path)
    except ContainerError as error:
        raise InputError(str(error)) from None
    metadata = dict(array.attrs)
    codes = list(metadata["channels"])
    if array.shape[0] != len(codes):
        raise InputError(
            f"{path}: {array.shape[0]} channel(s) in the data but {len(codes)} code(s) {codes} "
            "in the metadata"
        )
    spacing = metadata.get("spacing")
    info = ImageInfo(spacing=tuple(spacing) if spacing else None, metadata=metadata)
    return ChannelStoreRegions(array, path), codes, info


def read_channels(path: str | Path) -> tuple[np.ndarray, list[str], ImageInfo]:
    """A (C, [Z,] Y, X) channel image and its channel codes from the metadata (a TIFF, or a
    channel store of `segpipe predict-blocks`, read whole)."""
    from .containers import is_container

    if is_container(path):
        regions, codes, info = open_channels(path)
        return regions[...], codes, info
    array, info = read_tiff(path)
    codes = info.metadata.get("channels")
    if not codes:
        raise InputError(
            f"{path}: no channel codes in its metadata; it was not written by `segpipe encode` "
            "or `segpipe reconstruct`"
        )
    codes = list(codes)
    if array.ndim == 2 and len(codes) == 1:
        array = array[np.newaxis]
    if array.shape[0] != len(codes):
        raise InputError(
            f"{path}: {array.shape[0]} channel(s) in the data but {len(codes)} code(s) {codes} "
            "in the metadata"
        )
    array = array.astype(np.float32, copy=False)
    check_finite(array, path, "channel image")
    return array, codes, info


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_output(path) as temporary:
        temporary.write_text(text)


def write_json(path: str | Path, data: Any) -> None:
    with atomic_output(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2, default=_json_default) + "\n")


def json_ready(data: Any) -> Any:
    """``data`` as plain JSON values (numpy scalars and arrays, tuples and paths turned into
    numbers, lists and strings), for attributes of a Zarr."""
    return json.loads(json.dumps(data, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def write_csv(path: str | Path, frame: pandas.DataFrame) -> None:  # noqa: F821
    with atomic_output(path) as temporary:
        frame.to_csv(temporary, index=False)


def pair_images(
    raw_folder: str | Path, label_folder: str | Path, raw_inside: str = "", label_inside: str = ""
) -> list[tuple[Path, Path]]:
    """Raw and label files paired in sorted order; counts must agree. ``raw_inside`` and
    ``label_inside``: the arrays inside each container (see :func:`list_images`)."""
    raws = list_images(raw_folder, "raw image folder", raw_inside)
    labels = list_images(label_folder, "label folder", label_inside)
    if len(raws) != len(labels):
        raise InputError(
            f"{len(raws)} raw image(s) in {raw_folder} but {len(labels)} label image(s) in "
            f"{label_folder}"
        )
    return list(zip(raws, labels))


def provenance() -> dict[str, str]:
    """Versions of the packages that shape outputs, for sidecars."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("segpipe", "numpy", "scipy", "scikit-image", "tifffile", "torch"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found
