"""Chunked image containers: OME-Zarr (NGFF 0.4), plain Zarr arrays and HDF5 datasets.

Arrays come back in segpipe's order, spatial axes ([Z,] Y, X) then channels last, with
the axes they were read as. The order is taken from the OME-Zarr metadata, else from an
``axes`` attribute of the array, else from the caller (BiaPy's INPUT_IMG_AXES_ORDER),
else from the shape as TIFFs are read. Instance labels are written as OME-Zarr with NGFF
``image-label`` metadata, beside the image they segment, so that napari opens both.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

#: what marks a container, by suffix
ZARR_SUFFIXES = (".zarr",)
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")
#: NGFF version written
NGFF_VERSION = "0.4"
#: BiaPy's default order, which says nothing about an array of fewer than five axes
BIAPY_DEFAULT_AXES = "TZCYX"


class ContainerError(ValueError):
    """A container that cannot be read as an image; the message names it."""


def is_container(path: str | Path) -> bool:
    """A .zarr/.h5 path, or a folder that is a Zarr group or array (a label image inside an
    OME-Zarr, say)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in ZARR_SUFFIXES or suffix in HDF5_SUFFIXES:
        return True
    return path.is_dir() and any(
        (path / marker).exists() for marker in (".zgroup", ".zarray", "zarr.json")
    )


def _ngff_axes(attributes: dict) -> tuple[str, str, list[float] | None] | None:
    """(dataset path, axes letters, level-0 scale) of an OME-Zarr image group, else None."""
    multiscales = attributes.get("multiscales") or attributes.get("ome", {}).get("multiscales")
    if not multiscales:
        return None
    first = multiscales[0]
    axes = "".join(
        (axis["name"] if isinstance(axis, dict) else str(axis))[0].upper()
        for axis in first.get("axes", [])
    )
    dataset = first["datasets"][0]
    scale = None
    for transform in dataset.get("coordinateTransformations", []):
        if transform.get("type") == "scale":
            scale = [float(v) for v in transform["scale"]]
    return dataset["path"], axes, scale


def holds_one_image(path: str | Path) -> bool:
    """Whether the Zarr node at ``path`` is one image: an array, or an OME-Zarr image group."""
    import zarr

    try:
        node = zarr.open(str(path), mode="r")
    except Exception:  # zarr raises many types for what is not a Zarr node
        return False
    return hasattr(node, "shape") or _ngff_axes(dict(node.attrs)) is not None


def _only_dataset(handle, path: Path) -> tuple[str, object]:
    """The one array of an HDF5 file or Zarr group (refused when there are several)."""
    found: list[tuple[str, object]] = []

    def visit(name, node):
        if hasattr(node, "shape") and hasattr(node, "dtype"):
            found.append((name, node))

    if hasattr(handle, "visititems"):
        handle.visititems(visit)
    else:  # a Zarr group
        for name, node in handle.arrays():
            found.append((name, node))
    if len(found) != 1:
        names = ", ".join(name for name, _ in found) or "none"
        raise ContainerError(
            f"{path}: holds {len(found)} arrays ({names}); segpipe reads a container of one "
            "image (an OME-Zarr image, or one array)"
        )
    return found[0]


def _order(axes: str | None, given: str | None, shape: tuple[int, ...], path: Path) -> str | None:
    """The axes letters of an array: its own, the caller's when they fit, else None."""
    if axes:
        if len(axes) != len(shape) or set(axes) - set("TCZYX") or len(set(axes)) != len(axes):
            raise ContainerError(f"{path}: axes {axes!r} do not fit an array of shape {shape}")
        return axes
    # BiaPy's default order says nothing about an array of fewer than five axes
    if given and (given.upper() != BIAPY_DEFAULT_AXES or len(shape) == 5):
        given = given.upper()
        if len(given) != len(shape) or set(given) - set("TCZYX"):
            raise ContainerError(
                f"{path}: an array of shape {shape} cannot be read with the axes order "
                f"{given!r} (DATA.*.INPUT_IMG_AXES_ORDER / INPUT_MASK_AXES_ORDER)"
            )
        return given
    return None


def to_segpipe_order(array, axes: str, path: Path) -> tuple[np.ndarray, str]:
    """Read ``array`` (any array-like with ``axes``) as ([Z,] Y, X[, C]): a T axis of size 1
    dropped, channels moved last."""
    if "T" in axes:
        t = axes.index("T")
        if array.shape[t] != 1:
            raise ContainerError(
                f"{path}: {array.shape[t]} time points; segpipe segments one at a time"
            )
    data = np.asarray(array[...])
    if "T" in axes:
        data = np.take(data, 0, axis=axes.index("T"))
        axes = axes.replace("T", "")
    wanted = [a for a in "ZYX" if a in axes] + (["C"] if "C" in axes else [])
    data = np.transpose(data, [axes.index(a) for a in wanted])
    return data, "".join(wanted)


def _read_array(array, own, given: str | None, path: Path) -> tuple[np.ndarray, str | None]:
    """An array (h5py or Zarr) in segpipe's order, with the axes it was read as (None: its
    order is not known and it is returned as stored)."""
    own = own.decode() if isinstance(own, bytes) else own
    order = _order(own if isinstance(own, str) else None, given, array.shape, path)
    if order is None:
        return np.asarray(array[...]), None
    return to_segpipe_order(array, order, path)


def read_container(
    path: str | Path, axes: str | None = None
) -> tuple[np.ndarray, str | None, tuple[float, ...] | None]:
    """Pixels of a Zarr or HDF5 image in segpipe's order, the axes read (None: not known, the
    caller decides by the shape) and the spatial pixel size (OME-Zarr's scale, if any)."""
    path = Path(path)
    if not path.exists():
        raise ContainerError(f"{path} does not exist")
    try:
        if path.suffix.lower() in HDF5_SUFFIXES:
            import h5py

            with h5py.File(path, "r") as handle:
                _, dataset = _only_dataset(handle, path)
                return (*_read_array(dataset, dataset.attrs.get("axes"), axes, path), None)
        import zarr

        node = zarr.open(str(path), mode="r")
        ngff = _ngff_axes(dict(node.attrs)) if not hasattr(node, "shape") else None
        if ngff is not None:
            dataset_path, own, scale = ngff
            data, order = _read_array(node[dataset_path], own, None, path)
            spacing = None
            if scale is not None:
                spacing = tuple(s for s, a in zip(scale, own) if a in "ZYX")
            return data, order, spacing
        array = node if hasattr(node, "shape") else _only_dataset(node, path)[1]
        return (*_read_array(array, array.attrs.get("axes"), axes, path), None)
    except ContainerError:
        raise
    except Exception as error:  # zarr and h5py raise many types for unreadable data
        raise ContainerError(
            f"{path} is not a readable image container ({type(error).__name__}: {error})"
        ) from None


def _multiscales(name: str, axes: str, spacing: Sequence[float] | None) -> list[dict]:
    kinds = {"C": "channel", "Z": "space", "Y": "space", "X": "space"}
    spatial = iter(float(s) for s in (spacing or [1.0] * len(axes.replace("C", ""))))
    scale = [1.0 if a == "C" else next(spatial) for a in axes]
    described = []
    for a in axes:
        axis = {"name": a.lower(), "type": kinds[a]}
        if kinds[a] == "space" and spacing is not None:
            axis["unit"] = "micrometer"
        described.append(axis)
    return [
        {
            "version": NGFF_VERSION,
            "name": name,
            "axes": described,
            "datasets": [
                {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": scale}]}
            ],
        }
    ]


def _chunks(shape: tuple[int, ...], axes: str) -> tuple[int, ...]:
    side = {"C": 1, "Z": 32, "Y": 256, "X": 256}
    return tuple(min(s, side[a]) for s, a in zip(shape, axes))


def write_ome_zarr(
    path: str | Path,
    image: np.ndarray,
    labels: dict[str, np.ndarray],
    spacing: Sequence[float] | None = None,
    name: str = "image",
) -> None:
    """Write a channel-last image ([Z,] Y, X, C) and its label images (each [Z,] Y, X) as one
    OME-Zarr: the image at level 0, each label image under ``labels/<key>`` with NGFF
    ``image-label`` metadata pointing back at the image."""
    import zarr

    spatial = "ZYX"[-(image.ndim - 1) :]
    root = zarr.open_group(str(path), mode="w", zarr_format=2)
    channel_first = np.moveaxis(image, -1, 0)
    image_axes = "C" + spatial
    _write_level(root, channel_first, image_axes, name, spacing)
    if not labels:
        return
    group = root.create_group("labels")
    group.attrs["labels"] = list(labels)
    for key, values in labels.items():
        if values.shape != image.shape[:-1]:
            raise ValueError(f"labels {key!r} of shape {values.shape} do not fit {image.shape}")
        node = group.create_group(key)
        _write_level(node, values, spatial, key, spacing)
        node.attrs["image-label"] = {"version": NGFF_VERSION, "source": {"image": "../../"}}


def _write_level(group, values: np.ndarray, axes: str, name: str, spacing) -> None:
    """``values`` as the group's level-0 array "0", with its multiscales metadata."""
    stored = group.create_array(
        "0",
        shape=values.shape,
        dtype=values.dtype,
        chunks=_chunks(values.shape, axes),
        chunk_key_encoding={"name": "v2", "separator": "/"},
    )
    stored[...] = values
    group.attrs["multiscales"] = _multiscales(name, axes, spacing)


def channel_chunks(block: Sequence[int], largest: int = 128) -> tuple[int, ...]:
    """Chunk sides of a channel store written block by block: the largest divisor of each
    block side up to ``largest``, so that no two blocks ever write into one chunk."""
    return tuple(
        max(d for d in range(1, min(side, largest) + 1) if side % d == 0) for side in block
    )


def create_channel_store(
    path: str | Path, shape: Sequence[int], block: Sequence[int], metadata: dict
):
    """An empty float32 Zarr array of (C, [Z,] Y, X) predicted channels, chunked so that jobs
    can write whole blocks of ``block`` at once, with segpipe's channel metadata as attributes.
    Unwritten values are NaN, so a block never predicted cannot pass for one.

    The store is an OME-Zarr image (NGFF 0.4: the array is level "0" of a group with
    ``multiscales`` and ``omero`` channel names), so napari and other NGFF readers open the
    channels of a volume predicted block by block; :func:`open_channel_store` returns the
    array."""
    import zarr

    root = zarr.open_group(str(path), mode="w", zarr_format=2)
    array = root.create_array(
        "0",
        shape=tuple(int(s) for s in shape),
        chunks=(1, *channel_chunks(block)),
        dtype="float32",
        fill_value=float("nan"),
        chunk_key_encoding={"name": "v2", "separator": "/"},
    )
    array.attrs.update(metadata)
    axes = "C" + "ZYX"[-(len(shape) - 1) :]
    root.attrs["multiscales"] = _multiscales("channels", axes, metadata.get("spacing"))
    root.attrs["omero"] = {
        "channels": [{"label": str(code), "active": True} for code in metadata["channels"]]
    }
    return array


def create_label_store(
    path: str | Path, shape: Sequence[int], block: Sequence[int], largest_chunk: int = 128
):
    """An empty (zero) uint32 Zarr array of instance labels ([Z,] Y, X), chunked so that
    blocks of ``block`` write whole chunks (of sides up to ``largest_chunk``), with its
    ``axes`` attribute."""
    import zarr

    array = zarr.create_array(
        str(path),
        shape=tuple(int(s) for s in shape),
        chunks=channel_chunks(block, largest_chunk),
        dtype="uint32",
        fill_value=0,
        overwrite=True,
    )
    array.attrs["axes"] = "ZYX"[-len(shape) :]
    return array


def create_picture_store(path: str | Path, shape: Sequence[int], block: Sequence[int]):
    """An empty (black) uint8 RGB Zarr array ([Z,] Y, X, 3), chunked so that blocks of
    ``block`` write whole chunks: a picture of a volume, written block by block."""
    import zarr

    array = zarr.create_array(
        str(path),
        shape=(*(int(s) for s in shape), 3),
        chunks=(*channel_chunks(block), 3),
        dtype="uint8",
        fill_value=0,
        overwrite=True,
    )
    array.attrs["axes"] = "ZYX"[-len(shape) :] + "C"
    return array


def open_channel_store(path: str | Path, mode: str = "r"):
    """The Zarr array of a channel store (:func:`create_channel_store`; a bare array, as
    segpipe wrote them before they were OME-Zarr images, opens too)."""
    import zarr

    try:
        node = zarr.open(str(path), mode=mode)
        array = node["0"] if isinstance(node, zarr.Group) else node
    except Exception as error:  # zarr raises many types for what is not an array
        raise ContainerError(
            f"{path} is not a channel store written by segpipe ({type(error).__name__}: {error})"
        ) from None
    if "channels" not in array.attrs:
        raise ContainerError(
            f"{path}: no channel codes in its attributes; it was not written by "
            "`segpipe predict-blocks`"
        )
    return array
