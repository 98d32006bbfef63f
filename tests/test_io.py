import numpy as np
import pytest
import tifffile

from stages.io import (
    InputError,
    atomic_output,
    label_dtype,
    labels_from_array,
    pair_images,
    raw_to_channel_last,
    read_channels,
    read_labels,
    read_tiff,
    write_labels,
    write_tiff,
)


def test_atomic_output_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.tif"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as temporary:
            temporary.write_text("partial")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_channel_codes_and_spacing_round_trip(tmp_path):
    data = np.random.default_rng(0).random((2, 5, 6), dtype=np.float32)
    write_tiff(tmp_path / "c.tif", data, spacing=(0.5, 0.25), metadata={"channels": ["F", "C"]})
    back, codes, info = read_channels(tmp_path / "c.tif")
    assert codes == ["F", "C"]
    np.testing.assert_array_equal(back, data)
    assert info.spacing == (0.5, 0.25)


def test_labels_are_uint16_when_they_fit_else_uint32(tmp_path):
    small = np.array([[0, 1], [2, 65535]], dtype=np.int64)
    large = np.array([[0, 1], [2, 70000]], dtype=np.int64)
    write_labels(tmp_path / "s.tif", small)
    write_labels(tmp_path / "l.tif", large)
    assert read_tiff(tmp_path / "s.tif")[0].dtype == np.uint16
    assert read_tiff(tmp_path / "l.tif")[0].dtype == np.uint32
    assert label_dtype(70000) == np.uint32


def test_raw_channel_axis():
    assert raw_to_channel_last(np.zeros((10, 12)), 2, "x").shape == (10, 12, 1)
    assert raw_to_channel_last(np.zeros((10, 12, 3)), 2, "x").shape == (10, 12, 3)
    assert raw_to_channel_last(np.zeros((3, 10, 12)), 2, "x").shape == (10, 12, 3)
    assert raw_to_channel_last(np.zeros((5, 10, 12)), 3, "x").shape == (5, 10, 12, 1)
    with pytest.raises(InputError, match=r"img\.tif: raw image of shape \(2, 3, 4, 5\) is not 2D"):
        raw_to_channel_last(np.zeros((2, 3, 4, 5)), 2, "img.tif")


@pytest.mark.parametrize(
    "array, message",
    [
        (np.array([[0.5, 1.0]]), "fractional"),
        (np.array([[-1, 2]]), "non-negative"),
        (np.zeros((2, 2, 3)), "is not 2D"),
        (np.zeros((0, 3), dtype=np.uint8), "empty"),
    ],
)
def test_bad_labels_name_the_file(array, message):
    with pytest.raises(InputError, match=rf"lab\.tif: .*{message}"):
        labels_from_array(array, 2, "lab.tif")


def test_float_labels_with_integer_values_are_accepted():
    out = labels_from_array(np.array([[0.0, 3.0]]), 2, "x")
    assert out.dtype == np.uint16 and out.tolist() == [[0, 3]]


def test_unreadable_tiff_names_the_file(tmp_path):
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"not a tiff")
    with pytest.raises(InputError, match=r"bad\.tif is not a readable TIFF"):
        read_labels(bad, 2)


def test_pairing_counts_must_agree(tmp_path):
    for folder, count in (("raw", 2), ("label", 1)):
        (tmp_path / folder).mkdir()
        for i in range(count):
            write_tiff(tmp_path / folder / f"{i}.tif", np.zeros((4, 4), np.uint8))
    with pytest.raises(InputError, match=r"2 raw image\(s\) in .*raw but 1 label image\(s\)"):
        pair_images(tmp_path / "raw", tmp_path / "label")
    with pytest.raises(InputError, match=r"does not exist"):
        pair_images(tmp_path / "nope", tmp_path / "label")


def test_two_files_of_one_name_are_refused(tmp_path):
    """a.tif and a.tiff would share every output named after them (issue 13, item 4)."""
    from stages.io import list_images

    for name in ("a.tif", "a.tiff", "b.tif"):
        write_tiff(tmp_path / name, np.zeros((4, 4), np.uint8))
    with pytest.raises(InputError, match=r"a\.tif and a\.tiff share the name 'a'; rename one"):
        list_images(tmp_path, "raw image folder")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_raw_and_channel_images_are_refused(tmp_path, bad):
    from stages.io import read_raw

    image = np.ones((8, 8), np.float32)
    image[2, 3] = bad
    write_tiff(tmp_path / "raw.tif", image)
    with pytest.raises(InputError, match=r"raw\.tif: raw image holds 1 NaN or infinite value"):
        read_raw(tmp_path / "raw.tif", 2)
    write_tiff(tmp_path / "ch.tif", image[np.newaxis], metadata={"channels": ["F"]})
    with pytest.raises(InputError, match=r"ch\.tif: channel image holds 1 NaN or infinite"):
        read_channels(tmp_path / "ch.tif")


def test_outputs_respect_the_umask(tmp_path):
    """Not mkstemp's 0600: a group sharing a results folder can read them (issue 13, item 7)."""
    import os
    import stat

    previous = os.umask(0o027)
    try:
        with atomic_output(tmp_path / "out.txt") as temporary:
            temporary.write_text("x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "out.txt").stat().st_mode) == 0o640


def test_pixel_size_from_ome_and_imagej_metadata(tmp_path):
    import tifffile

    volume = np.zeros((3, 8, 8), np.uint16)
    tifffile.imwrite(
        tmp_path / "ome.ome.tif",
        volume,
        ome=True,
        metadata={
            "axes": "ZYX",
            "PhysicalSizeZ": 2.0,
            "PhysicalSizeY": 250.0,
            "PhysicalSizeYUnit": "nm",
            "PhysicalSizeX": 0.25,
        },
    )
    assert read_tiff(tmp_path / "ome.ome.tif", 3)[1].spacing == pytest.approx((2.0, 0.25, 0.25))
    tifffile.imwrite(
        tmp_path / "ij.tif",
        volume,
        imagej=True,
        resolution=(1 / 0.5, 1 / 0.5),
        metadata={"spacing": 3.0, "unit": "um", "axes": "ZYX"},
    )
    assert read_tiff(tmp_path / "ij.tif", 3)[1].spacing == pytest.approx((3.0, 0.5, 0.5))
    tifffile.imwrite(tmp_path / "bare.tif", volume, photometric="minisblack")
    assert read_tiff(tmp_path / "bare.tif", 3)[1].spacing is None


@pytest.mark.parametrize("shape", [(40, 41), (5, 40, 41)])
def test_labels_with_classes_round_trip_channel_last(tmp_path, shape):
    from stages.io import read_labels_and_classes

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 300, shape).astype(np.uint16)
    classes = (labels % 3).astype(np.uint8)
    write_labels(tmp_path / "l.tif", labels, classes=classes, spacing=(2.0,) * len(shape))
    assert tifffile.imread(tmp_path / "l.tif").shape == (*shape, 2)  # BiaPy's layout
    for rank in (len(shape), None):
        found, found_classes, info = read_labels_and_classes(tmp_path / "l.tif", rank)
        np.testing.assert_array_equal(found, labels)
        np.testing.assert_array_equal(found_classes, classes)
        assert info.spacing == (2.0,) * len(shape)
    assert read_labels(tmp_path / "l.tif", len(shape))[0].shape == shape  # ids only
    write_labels(tmp_path / "plain.tif", labels)
    assert read_labels_and_classes(tmp_path / "plain.tif", len(shape))[1] is None


def test_arrays_inside_zarr_containers_are_listed_and_named_by_their_container(tmp_path):
    """BiaPy's INPUT_ZARR_MULTIPLE_DATA: the arrays at a dotted path inside each container."""
    import zarr

    from stages.io import image_name, list_images, listing_folder, read_image

    for name, value in (("b", 2), ("a", 1)):
        volumes = zarr.open_group(tmp_path / f"{name}.zarr", mode="w").create_group("volumes")
        volumes.create_array("raw", data=np.full((3, 4, 4), value, np.uint8))
        volumes.create_group("labels").create_array("ids", data=np.zeros((3, 4, 4), np.uint16))
    raws = list_images(tmp_path, "DATA.TRAIN.PATH", "volumes.raw")
    labels = list_images(tmp_path, "DATA.TRAIN.PATH", "volumes/labels/ids")  # slashes too
    assert raws == [tmp_path / "a.zarr/volumes/raw", tmp_path / "b.zarr/volumes/raw"]
    assert labels == [
        tmp_path / "a.zarr/volumes/labels/ids",
        tmp_path / "b.zarr/volumes/labels/ids",
    ]
    assert [image_name(p) for p in raws + labels] == ["a", "b", "a", "b"]
    assert {listing_folder(p) for p in raws + labels} == {tmp_path}
    assert read_image(raws[1])[0].max() == 2
    assert (image_name(tmp_path / "x.tif"), listing_folder(tmp_path / "x.tif")) == ("x", tmp_path)
    with pytest.raises(InputError, match=r"a\.zarr holds no array at 'volumes\.gt'"):
        list_images(tmp_path, "DATA.TRAIN.PATH", "volumes.gt")
    with pytest.raises(InputError, match=r"a\.zarr holds no array at 'volumes'"):
        list_images(tmp_path, "DATA.TRAIN.PATH", "volumes")  # a group, not an array
    write_tiff(tmp_path / "c.tif", np.zeros((4, 4), np.uint8))
    with pytest.raises(InputError, match=r"c\.tif is not a Zarr container"):
        list_images(tmp_path, "DATA.TRAIN.PATH", "volumes.raw")
