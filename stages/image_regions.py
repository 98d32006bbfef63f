"""Read a raw image region by region, without reading it whole: Zarr/OME-Zarr and HDF5 through
their chunks, an uncompressed TIFF through a memory map.

A :class:`RegionReader` looks like the channel-last array ``read_raw`` returns (``shape``
([Z,] Y, X, C), ``ndim``, ``dtype``) and slicing it over the spatial axes reads only that
region, in segpipe's order, so that patch readers and statistics can take it in place of
the array.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from .containers import (
    HDF5_SUFFIXES,
    ContainerError,
    _ngff_axes,
    _only_dataset,
    _order,
    is_container,
)
from .io import ImageInfo, InputError


class RegionReader:
    """A stored array with its axes letters (of TCZYX), read by spatial regions as
    ([Z,] Y, X, C) numpy arrays."""

    def __init__(self, array, axes: str, handle=None):
        self.array, self.axes, self.handle = array, axes, handle
        self.spatial = [a for a in "ZYX" if a in axes]
        channels = array.shape[axes.index("C")] if "C" in axes else 1
        self.shape = tuple(int(array.shape[axes.index(a)]) for a in self.spatial) + (channels,)
        self.ndim = len(self.shape)
        self.dtype = np.dtype(array.dtype)
        kept = [a for a in axes if a != "T"]
        self._order = [kept.index(a) for a in self.spatial] + (
            [kept.index("C")] if "C" in kept else []
        )

    def __getitem__(self, box) -> np.ndarray:
        box = box if isinstance(box, tuple) else (box,)
        box = box + (slice(None),) * (len(self.spatial) - len(box))
        if len(box) != len(self.spatial):
            raise IndexError(f"{len(box)} indices for {len(self.spatial)} spatial axes")
        index = []
        for a in self.axes:
            if a == "T":
                index.append(0)
            elif a == "C":
                index.append(slice(None))
            else:
                chosen = box[self.spatial.index(a)]
                if isinstance(chosen, int):
                    chosen = slice(chosen, chosen + 1)  # keep every axis: a region, not a plane
                index.append(chosen)
        data = np.transpose(np.asarray(self.array[tuple(index)]), self._order)
        return data if "C" in self.axes else data[..., np.newaxis]

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None

    def __enter__(self) -> RegionReader:
        return self

    def __exit__(self, *_) -> None:
        self.close()


def float_slabs(reader: RegionReader, path) -> Callable[[], Iterator[np.ndarray]]:
    """A callable yielding the reader's float32 slabs along its first axis (each about
    STATISTICS_SLAB values, checked finite), one pass per call: what the normalisation
    statistics read."""
    from .io import check_finite
    from .nn.normalization import rows_per_slab

    step = rows_per_slab(reader.shape)

    def slabs() -> Iterator[np.ndarray]:
        for first in range(0, reader.shape[0], step):
            slab = reader[first : first + step].astype(np.float32)
            check_finite(slab, path, "raw image")
            yield slab

    return slabs


def _shape_axes(shape: tuple[int, ...], ndim: int | None, path, what: str = "raw image") -> str:
    """Axes letters of an array that does not say its own, decided by its shape as
    :func:`stages.io.raw_to_channel_last` decides (a channel-first image: at most 4 first);
    ``ndim`` None: the rank a label image of that shape has (:func:`stages.io.label_rank`)."""
    if ndim is None:
        from .io import label_rank

        ndim = label_rank(shape, {}, path)
    spatial = "ZYX"[-ndim:]
    if len(shape) == ndim:
        return spatial
    if len(shape) == ndim + 1:
        return "C" + spatial if shape[0] <= 4 < shape[-1] else spatial + "C"
    raise InputError(
        f"{path}: {what} of shape {shape} is not {ndim}D (expected "
        f"{'(Y,X[,C])' if ndim == 2 else '(Z,Y,X[,C])'} for PROBLEM.NDIM {ndim}D)"
    )


def open_raw_regions(
    path: str | Path, ndim: int | None, axes: str | None = None, what: str = "raw image"
) -> tuple[RegionReader, ImageInfo]:
    """A raw image opened for reading by regions (close it, or use it as a context manager),
    and its spacing. ``axes``: BiaPy's INPUT_IMG_AXES_ORDER for a container that does not say
    its own. A TIFF that cannot be memory-mapped (compressed, tiled) is read whole. ``what``
    names the image in errors (a label image is read the same way). ``ndim`` None: the axes the
    container names, else the rank its shape gives a label image."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist")
    try:
        if is_container(path):
            reader, spacing = _open_container(path, ndim, axes, what)
        else:
            reader, spacing = _open_tiff(path, ndim, what)
    except (ContainerError, InputError) as error:
        raise InputError(str(error)) from None
    except Exception as error:  # the readers raise many types for unreadable data
        raise InputError(
            f"{path} is not a readable image ({type(error).__name__}: {error})"
        ) from None
    if ndim is not None and len(reader.shape) != ndim + 1:
        reader.close()
        raise InputError(
            f"{path}: {what} of shape {reader.shape[:-1]} is not {ndim}D (PROBLEM.NDIM {ndim}D)"
        )
    if 0 in reader.shape:
        reader.close()
        raise InputError(f"{path}: {what} is empty (shape {reader.shape})")
    if not (np.issubdtype(reader.dtype, np.number) or reader.dtype == bool):
        reader.close()
        raise InputError(f"{path}: {what} has non-numeric dtype {reader.dtype}")
    return reader, ImageInfo(spacing=spacing, metadata={})


def _open_container(path: Path, ndim: int | None, axes: str | None, what: str):
    if path.suffix.lower() in HDF5_SUFFIXES:
        import h5py

        handle = h5py.File(path, "r")
        try:
            _, dataset = _only_dataset(handle, path)
            own = dataset.attrs.get("axes")
            own = own.decode() if isinstance(own, bytes) else own
            order = _order(own if isinstance(own, str) else None, axes, dataset.shape, path)
        except Exception:
            handle.close()
            raise
        order = order or _shape_axes(dataset.shape, ndim, path, what)
        return RegionReader(dataset, order, handle), None
    import zarr

    node = zarr.open(str(path), mode="r")
    ngff = _ngff_axes(dict(node.attrs)) if not hasattr(node, "shape") else None
    if ngff is not None:
        dataset_path, own, scale = ngff
        array = node[dataset_path]
        order = _order(own, None, array.shape, path)
        spacing = tuple(s for s, a in zip(scale, own) if a in "ZYX") if scale else None
        return RegionReader(array, order), spacing
    array = node if hasattr(node, "shape") else _only_dataset(node, path)[1]
    own = array.attrs.get("axes")
    order = _order(own if isinstance(own, str) else None, axes, array.shape, path)
    return RegionReader(array, order or _shape_axes(array.shape, ndim, path, what)), None


def _open_tiff(path: Path, ndim: int | None, what: str):
    import tifffile

    from .io import _spacing, label_rank

    with tifffile.TiffFile(path) as tif:
        shape = tuple(tif.series[0].shape)
        if ndim is None:  # the axes segpipe wrote, else the shape
            meta = tif.shaped_metadata[0] if tif.shaped_metadata else {}
            ndim = label_rank(shape, meta if isinstance(meta, dict) else {}, path)
        spacing = _spacing(tif, ndim)
    try:
        array = tifffile.memmap(path, mode="r")
    except ValueError:  # compressed or not contiguous: no map, read it whole
        array = tifffile.imread(path)
    array = array.reshape(shape)  # the series' shape, its singleton axes squeezed as read_tiff's
    return RegionReader(array, _shape_axes(array.shape, ndim, path, what)), spacing
