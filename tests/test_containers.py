import json

import h5py
import numpy as np
import pytest
import zarr

from stages.containers import ContainerError, read_container, write_ome_zarr
from stages.io import InputError, list_images, read_labels_and_classes, read_raw


@pytest.fixture(scope="module")
def volume():
    from stages.demo import read_stardist_sample

    image, labels = read_stardist_sample("stardist3d")
    return image.astype(np.uint16), labels.astype(np.uint16)


def test_an_ome_zarr_with_labels_reads_back_and_names_its_axes(tmp_path, volume):
    image, labels = volume
    path = tmp_path / "nuclei.zarr"
    write_ome_zarr(path, image[..., None], {"instances": labels}, spacing=(2.0, 0.5, 0.5))
    data, axes, spacing = read_container(path)
    assert axes == "ZYXC" and spacing == (2.0, 0.5, 0.5)
    np.testing.assert_array_equal(data[..., 0], image)
    raw, info = read_raw(path, 3)
    assert raw.shape == image.shape + (1,) and info.spacing == (2.0, 0.5, 0.5)
    read, classes, _ = read_labels_and_classes(path / "labels" / "instances")
    np.testing.assert_array_equal(read, labels)
    assert classes is None
    attributes = json.loads((path / "labels" / "instances" / ".zattrs").read_text())
    assert attributes["image-label"]["source"] == {"image": "../../"}


def test_napari_s_reader_finds_the_image_and_its_labels(tmp_path, volume):
    """The ome-zarr package is what napari's OME-Zarr plugin reads with."""
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Label, Labels, Multiscales, Reader

    image, labels = volume
    path = tmp_path / "nuclei.zarr"
    classes = (labels > 0).astype(np.uint8) * 2
    write_ome_zarr(path, image[..., None], {"instances": labels, "classes": classes})
    nodes = list(Reader(parse_url(str(path)))())
    kinds = [{type(spec) for spec in node.specs} for node in nodes]
    assert Multiscales in kinds[0] and Labels in kinds[1]
    found = {
        node.metadata["name"]: node for node in nodes if Label in {type(s) for s in node.specs}
    }
    assert set(found) == {"instances", "classes"}
    np.testing.assert_array_equal(np.asarray(found["instances"].data[0]), labels)
    assert tuple(nodes[0].data[0].shape) == (1,) + image.shape  # c, z, y, x


def test_a_channel_store_is_an_ome_zarr_image_that_napari_s_reader_opens(tmp_path, volume):
    """Channels predicted block by block (issue 17 item 1): level "0" of an NGFF group,
    channel axis first, the codes as channel names; segpipe reads them back by regions."""
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Multiscales, Reader

    from stages.containers import create_channel_store, open_channel_store
    from stages.io import open_channels

    image, labels = volume
    channels = np.stack([labels > 0, image / image.max()]).astype(np.float32)
    path = tmp_path / "tile.zarr"
    metadata = {"channels": ["F", "C"], "spacing": [2.0, 0.5, 0.5]}
    store = create_channel_store(path, channels.shape, (16, 32, 32), metadata)
    store[...] = channels
    node = next(iter(Reader(parse_url(str(path)))()))
    assert Multiscales in {type(spec) for spec in node.specs}
    np.testing.assert_array_equal(np.asarray(node.data[0]), channels)
    assert node.metadata["channel_names"] == ["F", "C"]
    attributes = json.loads((path / ".zattrs").read_text())
    axes = attributes["multiscales"][0]["axes"]
    assert [a["name"] for a in axes] == ["c", "z", "y", "x"] and axes[0]["type"] == "channel"
    scale = attributes["multiscales"][0]["datasets"][0]["coordinateTransformations"][0]
    assert scale["scale"] == [1.0, 2.0, 0.5, 0.5]
    regions, codes, info = open_channels(path)
    assert codes == ["F", "C"] and info.spacing == (2.0, 0.5, 0.5)
    np.testing.assert_array_equal(regions[:, 3:9], channels[:, 3:9])
    # a store written before they were OME-Zarr images (a bare array) still opens
    bare = zarr.create_array(str(tmp_path / "old.zarr"), shape=(2, 4, 4), dtype="float32")
    bare.attrs["channels"] = ["F", "C"]
    assert open_channel_store(tmp_path / "old.zarr").shape == (2, 4, 4)


@pytest.mark.parametrize(
    "stored_axes, given, transform",
    [
        ("CZYX", None, lambda a: np.moveaxis(a, -1, 0)),  # an attribute says
        (None, "ZYXC", lambda a: a),  # BiaPy's INPUT_IMG_AXES_ORDER says
        (None, "TZCYX", lambda a: np.moveaxis(a, -1, 1)[None]),  # BiaPy's default, 5 axes
    ],
)
@pytest.mark.parametrize("suffix", [".h5", ".zarr"])
def test_hdf5_and_zarr_arrays_are_read_in_the_order_they_state_or_are_given(
    tmp_path, volume, stored_axes, given, transform, suffix
):
    image = np.stack([volume[0], volume[0] // 2], axis=-1)  # (Z, Y, X, 2)
    stored = transform(image)
    path = tmp_path / f"raw{suffix}"
    if suffix == ".h5":
        with h5py.File(path, "w") as handle:
            dataset = handle.create_dataset("data", data=stored, chunks=True)
            if stored_axes:
                dataset.attrs["axes"] = stored_axes
    else:
        array = zarr.create_array(str(path), shape=stored.shape, dtype=stored.dtype)
        array[...] = stored
        if stored_axes:
            array.attrs["axes"] = stored_axes
    raw, _ = read_raw(path, 3, given)
    np.testing.assert_array_equal(raw, image)


def test_an_array_without_axes_is_read_by_its_shape_as_a_tiff_is(tmp_path, volume):
    path = tmp_path / "raw.h5"
    with h5py.File(path, "w") as handle:
        handle["volume"] = volume[0]
    raw, _ = read_raw(path, 3, "TZCYX")  # BiaPy's default says nothing about 3 axes
    np.testing.assert_array_equal(raw[..., 0], volume[0])


def test_bad_containers_are_one_clear_error_naming_the_file(tmp_path, volume):
    two = tmp_path / "two.h5"
    with h5py.File(two, "w") as handle:
        handle["a"] = volume[0]
        handle["b"] = volume[1]
    with pytest.raises(InputError, match=r"two.h5: holds 2 arrays \(a, b\)"):
        read_raw(two, 3)
    wrong = tmp_path / "wrong.h5"
    with h5py.File(wrong, "w") as handle:
        handle["a"] = volume[0]
    with pytest.raises(InputError, match="INPUT_IMG_AXES_ORDER"):
        read_raw(wrong, 3, "YX")
    times = tmp_path / "times.h5"
    with h5py.File(times, "w") as handle:
        handle.create_dataset("a", data=np.stack([volume[0]] * 2)).attrs["axes"] = "TZYX"
    with pytest.raises(InputError, match="2 time points"):
        read_raw(times, 3)
    broken = tmp_path / "broken.zarr"
    broken.mkdir()
    with pytest.raises(InputError, match="broken.zarr is not a readable image container"):
        read_raw(broken, 3)
    with pytest.raises(ContainerError, match="does not exist"):
        read_container(tmp_path / "missing.h5")


def test_image_folders_list_zarr_and_hdf5_images(tmp_path, volume):
    write_ome_zarr(tmp_path / "b.zarr", volume[0][..., None], {})
    with h5py.File(tmp_path / "a.h5", "w") as handle:
        handle["x"] = volume[0]
    (tmp_path / "notes.txt").write_text("")
    assert [p.name for p in list_images(tmp_path)] == ["a.h5", "b.zarr"]


def test_an_ome_zarr_written_by_the_ome_zarr_package_is_read(tmp_path, volume):
    """NGFF 0.5 (Zarr v3), as ome-zarr writes it by default: axes from its metadata."""
    from ome_zarr.io import parse_url
    from ome_zarr.writer import write_image

    image = np.stack([volume[0], volume[0] // 3])  # (C, Z, Y, X)
    root = zarr.group(store=parse_url(str(tmp_path / "v05.zarr"), mode="w").store)
    write_image(image, root, axes="czyx", scale_factors=[])
    raw, info = read_raw(tmp_path / "v05.zarr", 3)
    np.testing.assert_array_equal(raw, np.moveaxis(image, 0, -1))
