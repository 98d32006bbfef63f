"""OME-Zarr, Zarr and HDF5 images through the stage commands (issue 17 item 1)."""

import h5py
import numpy as np
import tifffile

from stages.containers import read_container, write_ome_zarr
from stages.io import read_channels, read_labels, write_tiff


def test_predicting_an_ome_zarr_or_hdf5_image_equals_predicting_its_tiff(
    run, dataset, trained, tiny_config, tmp_path
):
    tiff = dataset / "test/raw/img-0.tif"
    image = tifffile.imread(tiff)
    write_ome_zarr(tmp_path / "img-0.zarr", image[..., None], {})
    with h5py.File(tmp_path / "img-0.h5", "w") as handle:
        handle.create_dataset("raw", data=image[None]).attrs["axes"] = "CYX"
    maps = []
    for source in (tiff, tmp_path / "img-0.zarr", tmp_path / "img-0.h5"):
        out = tmp_path / f"{source.suffix[1:]}.npz"
        result = run("predict", source, out, "--model", trained, "--config", tiny_config)
        assert result.exit_code == 0, result.output
        channels = tmp_path / f"{source.suffix[1:]}.tif"
        assert run("reconstruct", out, "--out", channels).exit_code == 0
        maps.append(read_channels(channels)[0])
    np.testing.assert_array_equal(maps[0], maps[1])
    np.testing.assert_array_equal(maps[0], maps[2])


def test_ome_zarr_writes_the_image_with_its_instances_for_napari(run, dataset, tmp_path):
    raw, labels = dataset / "test/raw/img-0.tif", dataset / "test/label/img-0.tif"
    out = tmp_path / "img-0.zarr"
    out.mkdir()
    (out / "stale").write_text("replaced")
    result = run("ome-zarr", raw, labels, "--out", out)
    assert result.exit_code == 0, result.output
    assert not (out / "stale").exists()
    image, axes, _ = read_container(out)
    assert axes == "YXC"
    np.testing.assert_array_equal(image[..., 0], tifffile.imread(raw))
    np.testing.assert_array_equal(
        read_labels(out / "labels" / "instances")[0], read_labels(labels)[0]
    )


def test_a_label_image_that_does_not_fit_its_raw_is_refused_and_nothing_is_written(
    run, dataset, tmp_path
):
    small = tmp_path / "small.tif"
    write_tiff(small, tifffile.imread(dataset / "test/label/img-0.tif")[:10, :10])
    result = run("ome-zarr", dataset / "test/raw/img-0.tif", small, "--out", tmp_path / "o.zarr")
    assert result.exit_code == 1 and "does not fit" in result.output
    assert not (tmp_path / "o.zarr").exists()


def test_training_reads_a_folder_of_hdf5_images(run, dataset, tiny_config, tmp_path):
    for split in ("raw", "label"):
        (tmp_path / "h5" / split).mkdir(parents=True)
        for tiff in sorted((dataset / "train" / split).iterdir()):
            with h5py.File(tmp_path / "h5" / split / f"{tiff.stem}.h5", "w") as handle:
                handle["data"] = tifffile.imread(tiff)
    result = run("check", "--raw", tmp_path / "h5/raw", "--label", tmp_path / "h5/label",
                 "--out", tmp_path / "check.json", "--config", tiny_config)  # fmt: skip
    assert result.exit_code == 0, result.output
    result = run("train", "--raw", tmp_path / "h5/raw", "--label", tmp_path / "h5/label",
                 "--out", tmp_path / "model", "--threads", "1", "--no-progress",
                 "--config", tiny_config)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "model" / "model.pt").is_file()


def test_training_reads_patches_from_disk_when_not_in_memory(
    run, dataset, tiny_config, tmp_path, caplog
):
    """Issue 17 item 5: DATA.TRAIN.IN_MEMORY false trains from HDF5 images read patch by
    patch (targets encoded per patch); label images with a class channel are refused."""
    import logging

    import yaml

    config = yaml.safe_load(tiny_config.read_text())
    config["DATA"]["TRAIN"]["IN_MEMORY"] = False
    lazy_config = tmp_path / "lazy.yaml"
    lazy_config.write_text(yaml.safe_dump(config))
    for split in ("raw", "label"):
        (tmp_path / "h5" / split).mkdir(parents=True)
        for tiff in sorted((dataset / "train" / split).iterdir()):
            with h5py.File(tmp_path / "h5" / split / f"{tiff.stem}.h5", "w") as handle:
                handle["data"] = tifffile.imread(tiff)
    with caplog.at_level(logging.INFO, logger="segpipe"):
        result = run("train", "--raw", tmp_path / "h5/raw", "--label", tmp_path / "h5/label",
                     "--out", tmp_path / "model", "--threads", "1", "--no-progress",
                     "--config", lazy_config)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "read patch by patch from disk" in caplog.text
    assert (tmp_path / "model" / "model.pt").is_file()
    # a class channel beside the ids
    (tmp_path / "classes" / "label").mkdir(parents=True)
    for tiff in sorted((dataset / "train" / "label").iterdir()):
        labels = tifffile.imread(tiff)
        tifffile.imwrite(tmp_path / "classes" / "label" / tiff.name,
                         np.stack([labels, (labels > 0).astype(labels.dtype)], -1))  # fmt: skip
    result = run("train", "--raw", dataset / "train/raw", "--label",
                 tmp_path / "classes/label", "--out", tmp_path / "model2", "--no-progress",
                 "--config", lazy_config)  # fmt: skip
    assert result.exit_code != 0 and "IN_MEMORY false" in result.output
    assert "img-0.tif" in result.output and not (tmp_path / "model2").exists()


def test_check_reads_zarr_images_region_by_region_as_it_reads_tiffs(
    run, tmp_path, img3d, mask3d, monkeypatch
):
    """Issue 17: `check` of Zarr training images reads them by regions (blocks of 4096 voxels
    here): the report of the same images as TIFFs, and the same refusals."""
    import json

    import zarr

    import stages.evaluate_blocks

    monkeypatch.setattr(stages.evaluate_blocks, "EVALUATION_BLOCK_VOXELS", 4096)
    for kind, array in (("raw", img3d), ("label", mask3d)):
        for suffix in ("tif", "zarr"):
            (tmp_path / suffix / kind).mkdir(parents=True, exist_ok=True)
        write_tiff(tmp_path / "tif" / kind / "a.tif", array)
        zarr.save_array(str(tmp_path / "zarr" / kind / "a.zarr"), array)
    reports = []
    for suffix in ("tif", "zarr"):
        result = run("check", "--raw", tmp_path / suffix / "raw", "--label",
                     tmp_path / suffix / "label", "--ndim", "3D", "--out",
                     tmp_path / f"{suffix}.json")  # fmt: skip
        assert result.exit_code == 0, result.output
        reports.append(json.loads((tmp_path / f"{suffix}.json").read_text())["images"])
    for entry in reports[0]:
        entry.update(raw=entry["raw"].replace("tif", "zarr"), label=entry["label"].replace(
            "tif", "zarr"))  # fmt: skip
    assert reports[0] == reports[1] and reports[1][0]["instances"] == 51
    # a negative id deep inside, a NaN in the raw image, labels of another shape
    for kind, array, message in (
        ("label", np.where(np.arange(mask3d.size).reshape(mask3d.shape) == 30000, -1,
                           mask3d.astype(np.int32)), "must be non-negative"),
        ("raw", np.where(mask3d == 5, np.nan, img3d.astype(np.float32)), "raw image"),
        ("label", mask3d[:, :60], "differs from its raw image"),
    ):  # fmt: skip
        folder = tmp_path / f"bad-{kind}-{len(message)}"
        for part in ("raw", "label"):
            (folder / part).mkdir(parents=True)
            good = img3d if part == "raw" else mask3d
            zarr.save_array(str(folder / part / "a.zarr"), array if part == kind else good)
        result = run("check", "--raw", folder / "raw", "--label", folder / "label", "--ndim",
                     "3D")  # fmt: skip
        assert result.exit_code != 0 and message in result.output, result.output
        assert str(folder / kind / "a.zarr") in result.output or kind == "label"


def test_check_by_regions_refuses_class_ids_beyond_n_classes(run, tmp_path, img3d, mask3d):
    import yaml
    import zarr

    classes = np.where(mask3d > 0, 1 + mask3d % 3, 0)  # class ids 1..3
    for part, array in (("raw", img3d), ("label", np.stack([mask3d, classes], -1))):
        (tmp_path / part).mkdir()
        zarr.save_array(str(tmp_path / part / "a.zarr"), array)
    for n_classes, message in ((4, "1 image(s) OK"), (3, "class id 3 in the class channel")):
        config = tmp_path / f"c{n_classes}.yaml"
        config.write_text(yaml.safe_dump({"PROBLEM": {"NDIM": "3D"},
                                          "DATA": {"N_CLASSES": n_classes,
                                                   "PATCH_SIZE": [16, 32, 32, 1]}}))  # fmt: skip
        result = run("check", "--raw", tmp_path / "raw", "--label", tmp_path / "label",
                     "--config", config)  # fmt: skip
        assert message in result.output, result.output
        assert (result.exit_code == 0) == (n_classes == 4)


def _as_zarr_multiple_data(dataset, split, folder) -> None:
    """BiaPy's INPUT_ZARR_MULTIPLE_DATA layout: one Zarr container per image, the raw image
    and its labels inside (as BiaPy's CI holds SNEMI)."""
    import zarr

    folder.mkdir(parents=True)
    for tiff in sorted((dataset / split / "raw").iterdir()):
        volumes = zarr.open_group(folder / f"{tiff.stem}.zarr", mode="w").create_group("volumes")
        volumes.create_array("raw", data=tifffile.imread(tiff))
        labels = tifffile.imread(dataset / split / "label" / tiff.name)
        volumes.create_group("labels").create_array("ids", data=labels)


def test_training_from_zarr_containers_of_raw_and_labels_equals_training_from_tiffs(
    run, dataset, tiny_config, tmp_path
):
    """DATA.TRAIN.INPUT_ZARR_MULTIPLE_DATA (BiaPy's CI SNEMI config): the raw image and the
    labels are read from inside each container, at the dotted paths given; training on them
    is training on the same images as TIFFs, to the bit; held in memory or read from disk."""
    import pandas as pd
    import yaml

    _as_zarr_multiple_data(dataset, "train", tmp_path / "containers")
    config = yaml.safe_load(tiny_config.read_text())
    config["DATA"]["TRAIN"].update(
        PATH=str(tmp_path / "containers"),
        GT_PATH="",
        INPUT_ZARR_MULTIPLE_DATA=True,
        INPUT_ZARR_MULTIPLE_DATA_RAW_PATH="volumes.raw",
        INPUT_ZARR_MULTIPLE_DATA_GT_PATH="volumes.labels.ids",
    )
    zarr_config = tmp_path / "zarr.yaml"
    zarr_config.write_text(yaml.safe_dump(config))
    folder = str(tmp_path / "containers")
    result = run("check", "--raw", folder, "--label", folder, "--out", tmp_path / "check.json",
                 "--config", zarr_config)  # fmt: skip
    assert result.exit_code == 0, result.output
    histories = []
    for name, raw, label, used in (
        ("tiff", dataset / "train/raw", dataset / "train/label", tiny_config),
        ("zarr", folder, folder, zarr_config),
    ):
        result = run("train", "--raw", raw, "--label", label, "--out", tmp_path / name,
                     "--log-csv", tmp_path / f"{name}.csv", "--threads", "1", "--no-progress",
                     "--config", used)  # fmt: skip
        assert result.exit_code == 0, result.output
        histories.append(pd.read_csv(tmp_path / f"{name}.csv"))
    losses = [h.filter(like="loss").to_numpy() for h in histories]
    assert losses[0].size and np.isfinite(losses[0]).all()
    np.testing.assert_array_equal(losses[0], losses[1])
    config["DATA"]["TRAIN"]["IN_MEMORY"] = False
    zarr_config.write_text(yaml.safe_dump(config))
    result = run("train", "--raw", folder, "--label", folder, "--out", tmp_path / "lazy",
                 "--threads", "1", "--no-progress", "--config", zarr_config)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "lazy" / "model.pt").is_file()
    # a container without the label array: one error naming it and the path
    (tmp_path / "containers" / "img-1.zarr" / "volumes" / "labels" / "ids" / "zarr.json").unlink()
    result = run("train", "--raw", folder, "--label", folder, "--out", tmp_path / "bad",
                 "--no-progress", "--config", zarr_config)  # fmt: skip
    assert result.exit_code != 0 and not (tmp_path / "bad").exists()
    assert "img-1.zarr holds no array at 'volumes.labels.ids'" in result.output
