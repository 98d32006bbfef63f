"""median-filter, repair-large-blobs and filter-by-properties by hand: outputs and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import yaml

from stages.io import read_channels, read_labels, write_tiff
from stages.measure import measure_instances
from stages.postprocess import median_filter_channels


def test_median_filter_writes_channels_decode_reads(run, dataset, tmp_path):
    label = dataset / "train/label/img-0.tif"
    assert run("encode", label, tmp_path / "ch.tif", "--channels", "F,C").exit_code == 0
    result = run("median-filter", tmp_path / "ch.tif", tmp_path / "mf.tif", "--filter", "xy:3")
    assert result.exit_code == 0, result.output
    channels, planes, _ = read_channels(tmp_path / "ch.tif")
    filtered, filtered_planes, info = read_channels(tmp_path / "mf.tif")
    assert filtered_planes == planes == ["F", "C"]
    np.testing.assert_array_equal(filtered, median_filter_channels(channels, [("xy", 3)]))
    assert info.metadata["median_filters"] == [["xy", 3]]
    assert run("decode", tmp_path / "mf.tif", tmp_path / "inst.tif").exit_code == 0
    # from a config: the filters of MEDIAN_FILTER_AXIS and MEDIAN_FILTER_SIZE
    config = tmp_path / "m.yaml"
    post = {"MEDIAN_FILTER": True, "MEDIAN_FILTER_AXIS": ["xy"], "MEDIAN_FILTER_SIZE": [5]}
    config.write_text(yaml.safe_dump({"TEST": {"POST_PROCESSING": post}}))
    result = run("median-filter", tmp_path / "ch.tif", tmp_path / "m5.tif", "--config", config)
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(
        read_channels(tmp_path / "m5.tif")[0], median_filter_channels(channels, [("xy", 5)])
    )


def test_a_zarr_of_channels_is_filtered_block_by_block_into_a_zarr(run, tmp_path, mask3d):
    """Issue 17: the median filters of a volume predicted by blocks, never read whole."""
    from stages.channels import encode_channels
    from stages.containers import create_channel_store

    channels = encode_channels(mask3d, ["F", "C"])
    store = create_channel_store(tmp_path / "ch.zarr", channels.shape, (8, 24, 24),
                                 {"channels": ["F", "C"], "block": [8, 24, 24]})  # fmt: skip
    store[...] = channels
    result = run("median-filter", tmp_path / "ch.zarr", tmp_path / "mf.zarr", "--filter", "z:3",
                 "--filter", "xy:5")  # fmt: skip
    assert result.exit_code == 0, result.output
    filtered, planes, info = read_channels(tmp_path / "mf.zarr")
    expected = median_filter_channels(channels, [("z", 3), ("xy", 5)])
    assert planes == ["F", "C"] and info.metadata["median_filters"] == [["z", 3], ["xy", 5]]
    np.testing.assert_array_equal(filtered, expected)
    result = run("median-filter", tmp_path / "ch.zarr", tmp_path / "mf.tif", "--filter", "z:3")
    assert result.exit_code != 0 and "a Zarr of channels is filtered into a Zarr" in result.output
    assert not (tmp_path / "mf.tif").exists()


def test_median_filter_errors(run, dataset, tmp_path):
    label = dataset / "train/label/img-0.tif"
    assert run("encode", label, tmp_path / "ch.tif", "--channels", "F").exit_code == 0
    result = run("median-filter", tmp_path / "ch.tif", tmp_path / "o.tif", "--filter", "z")
    assert result.exit_code == 2 and "is not AXES:SIZE" in result.output
    result = run("median-filter", tmp_path / "ch.tif", tmp_path / "o.tif", "--filter", "z:3")
    assert result.exit_code == 1 and "need 3D data" in result.output
    config = tmp_path / "z.yaml"
    post = {"MEDIAN_FILTER": True, "MEDIAN_FILTER_AXIS": ["z"], "MEDIAN_FILTER_SIZE": [3]}
    config.write_text(yaml.safe_dump({"TEST": {"POST_PROCESSING": post}}))
    result = run("median-filter", tmp_path / "ch.tif", tmp_path / "o.tif", "--config", config)
    assert result.exit_code == 1 and "MEDIAN_FILTER_AXIS: ['z'] filter(s) across Z" in result.output
    result = run("median-filter", label, tmp_path / "o.tif", "--filter", "xy:3")
    assert result.exit_code == 1 and "no channel codes" in result.output
    assert not (tmp_path / "o.tif").exists()


def test_repair_large_blobs_by_hand(run, mask2d, tmp_path):
    from tests.postprocess.test_large_blobs import _broken_copy

    labels = mask2d[:128, :128].astype(np.uint16)
    ids, sizes = np.unique(labels[labels > 0], return_counts=True)
    broken = _broken_copy(labels, int(ids[np.argmax(sizes)]), int(labels.max()) + 1)
    write_tiff(tmp_path / "broken.tif", broken)
    result = run(
        "repair-large-blobs",
        tmp_path / "broken.tif",
        tmp_path / "repaired.tif",
        "--min-size",
        int(sizes.max()) // 2,
    )
    assert result.exit_code == 0, result.output
    assert "1 merged into larger ones" in result.output
    np.testing.assert_array_equal(read_labels(tmp_path / "repaired.tif")[0], labels)
    result = run("repair-large-blobs", tmp_path / "broken.tif", tmp_path / "none.tif")
    assert result.exit_code == 2 and "REPARE_LARGE_BLOBS_SIZE" in result.output
    assert not (tmp_path / "none.tif").exists()


def test_filter_by_properties_writes_labels_and_both_tables(run, dataset, tmp_path):
    label = dataset / "train/label/img-0.tif"
    result = run(
        "filter-by-properties",
        label,
        tmp_path / "kept.tif",
        "--condition",
        "npixels lt 150",
        "--condition",
        "npixels lt 400, circularity le 0.8",
        "--all-stats",
        tmp_path / "all.csv",
        "--kept-stats",
        tmp_path / "kept.csv",
    )
    assert result.exit_code == 0, result.output
    labels, _ = read_labels(label)
    table = measure_instances(labels)
    removed = set(
        table.loc[
            (table.npixels < 150) | ((table.npixels < 400) & (table.circularity <= 0.8)), "label"
        ]
    )
    assert 0 < len(removed) < len(table)
    kept, _ = read_labels(tmp_path / "kept.tif")
    assert set(np.unique(kept)[1:]) == set(table["label"]) - removed
    everything = pd.read_csv(tmp_path / "all.csv")
    assert len(everything) == len(table)
    assert set(everything.loc[everything.comment == "Removed", "label"]) == removed
    assert {"conditions", "comment", "npixels", "circularity"} <= set(everything.columns)
    kept_table = pd.read_csv(tmp_path / "kept.csv")
    assert set(kept_table["label"]) == set(table["label"]) - removed
    assert (kept_table["comment"] == "Correct").all()
    # the same from a config's PROPS, SIGNS and VALUES (BiaPy's lists of lists)
    config = tmp_path / "p.yaml"
    remove = {
        "ENABLE": True,
        "PROPS": [["npixels"], ["npixels", "circularity"]],
        "SIGNS": [["lt"], ["lt", "le"]],
        "VALUES": [[150], [400, 0.8]],
    }
    config.write_text(
        yaml.safe_dump(
            {"TEST": {"POST_PROCESSING": {"MEASURE_PROPERTIES": {"REMOVE_BY_PROPERTIES": remove}}}}
        )
    )
    result = run("filter-by-properties", label, tmp_path / "k2.tif", "--config", config)
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(read_labels(tmp_path / "k2.tif")[0], kept)


def test_filter_by_properties_errors(run, dataset, tmp_path):
    label = dataset / "train/label/img-0.tif"
    out = tmp_path / "o.tif"
    result = run("filter-by-properties", label, out, "--condition", "npixels < 100")
    assert result.exit_code == 2 and "unknown sign '<'" in result.output
    result = run("filter-by-properties", label, out, "--condition", "npixels lt")
    assert result.exit_code == 2 and "is not PROPERTY SIGN VALUE" in result.output
    result = run("filter-by-properties", label, out, "--condition", "size lt 3")
    assert result.exit_code == 2 and "unknown property 'size'" in result.output
    result = run("filter-by-properties", label, out)
    assert result.exit_code == 2 and "give --condition" in result.output
    config = tmp_path / "bad.yaml"
    remove = {"ENABLE": True, "PROPS": [["npixels", "area"]], "SIGNS": [["lt"]], "VALUES": [[1, 2]]}
    config.write_text(
        yaml.safe_dump(
            {"TEST": {"POST_PROCESSING": {"MEASURE_PROPERTIES": {"REMOVE_BY_PROPERTIES": remove}}}}
        )
    )
    result = run("filter-by-properties", label, out, "--config", config)
    assert result.exit_code == 1 and "REMOVE_BY_PROPERTIES.SIGNS: must have the shape of PROPS" in (
        result.output
    )
    assert not out.exists()


def test_overlay_draws_a_test_image_and_refuses_mismatched_files(run, dataset, tmp_path):
    from stages.io import write_tiff as write

    raw = dataset / "test/raw/img-0.tif"
    label = dataset / "test/label/img-0.tif"
    associations = tmp_path / "img-0_th_0.3_associations.tif"
    write(associations, np.zeros((64, 64, 3), np.uint8), rgb=True)
    out = tmp_path / "o.png"
    result = run("overlay", raw, label, out, "--truth", label, "--associations", associations)
    assert result.exit_code == 0, result.output
    assert "3 panel(s)" in result.output and out.read_bytes()[:4] == b"\x89PNG"
    small = tmp_path / "small.tif"
    write(small, np.ones((32, 32), np.uint16))
    result = run("overlay", raw, label, tmp_path / "x.png", "--truth", small)
    assert result.exit_code == 1 and "the ground truth (shape (32, 32))" in result.output
    result = run("overlay", raw, label, tmp_path / "x.png", "--associations", small)
    assert result.exit_code == 1 and "is not the RGB association image" in result.output
    assert not (tmp_path / "x.png").exists()


def test_a_volume_in_zarrs_is_drawn_from_its_middle_slice_as_from_tiffs(
    run, tmp_path, img3d, mask3d, monkeypatch
):
    """Issue 17: the overlay of a volume reads its middle slice only (the instances counted
    block by block): the picture of the same volume in TIFFs, read whole."""
    import matplotlib.image
    import zarr

    import stages.evaluate_blocks

    monkeypatch.setattr(stages.evaluate_blocks, "EVALUATION_BLOCK_VOXELS", 4096)
    truth = np.roll(mask3d, 2, axis=1)
    picture = np.zeros(mask3d.shape + (3,), np.uint8)
    picture[mask3d > 0] = (0, 255, 0)
    for name, array in (("raw", img3d), ("l", mask3d), ("t", truth), ("a_th_0.5_associations",
                                                                     picture)):  # fmt: skip
        write_tiff(tmp_path / f"{name}.tif", array, rgb=array.ndim == 4)
        zarr.save_array(str(tmp_path / f"{name}.zarr"), array)
    for suffix in ("tif", "zarr"):
        files = [tmp_path / f"{n}.{suffix}" for n in ("raw", "l")]
        result = run("overlay", *files, tmp_path / f"{suffix}.png", "--truth",
                     tmp_path / f"t.{suffix}", "--associations",
                     tmp_path / f"a_th_0.5_associations.{suffix}", "--ndim", "3D")  # fmt: skip
        assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(
        matplotlib.image.imread(tmp_path / "zarr.png"),
        matplotlib.image.imread(tmp_path / "tif.png"),
    )


def test_clear_border_as_its_own_key_removes_the_instances_at_the_border(run, dataset, tmp_path):
    label = dataset / "train/label/img-0.tif"
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"TEST": {"POST_PROCESSING": {"CLEAR_BORDER": True}}}))
    result = run("refine", label, tmp_path / "r.tif", "--config", config)
    assert result.exit_code == 0, result.output
    labels, _ = read_labels(label)
    border = set(np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])))
    kept, _ = read_labels(tmp_path / "r.tif")
    assert len(border - {0}) > 0
    assert int(kept.max()) == len(set(np.unique(labels)) - border)  # renumbered 1..n
    assert not kept[0].any() and not kept[-1].any() and not kept[:, 0].any()


def test_evaluate_adds_the_iou_of_each_binary_channel(run, dataset, tmp_path):
    label = dataset / "test/label/img-0.tif"
    assert (
        run("encode", label, tmp_path / "ch" / "img-0.tif", "--channels", "F,C,Db").exit_code == 0
    )
    out = tmp_path / "m.csv"
    result = run(
        "evaluate", "--pred", label, "--gt", label, "--channels", tmp_path / "ch", "--out", out
    )
    assert result.exit_code == 0, result.output
    metrics = pd.read_csv(out)
    assert metrics.loc[0, "IoU F"] == 1.0 and metrics.loc[0, "IoU C"] == 1.0
    assert "IoU Db" not in metrics.columns
    small = tmp_path / "small" / "img-0.tif"
    write_tiff(small, np.zeros((1, 8, 8), np.float32), metadata={"channels": ["F"]})
    result = run(
        "evaluate", "--pred", label, "--gt", label, "--channels", small, "--out", tmp_path / "x.csv"
    )
    assert result.exit_code == 1 and "differ in shape" in result.output
    assert not (tmp_path / "x.csv").exists()
