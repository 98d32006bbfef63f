"""TEST.BY_CHUNKS: segpipe decode block by block gives the instances of decoding whole."""

import numpy as np
import yaml

from stages.io import read_labels, write_tiff


def _config(tmp_path, **chunks):
    path = tmp_path / f"c{len(list(tmp_path.glob('c*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump({
        "PROBLEM": {"NDIM": "3D", "INSTANCE_SEG": {
            "DATA_CHANNELS": ["F", "C"], "WATERSHED": {"MERGE_FRAGMENTS_BELOW": 0.0}}},
        "DATA": {"PATCH_SIZE": [16, 32, 32, 1]},
        "TEST": {"BY_CHUNKS": chunks},
    }))  # fmt: skip
    return path


def test_decoding_by_blocks_gives_the_instances_of_decoding_whole(run, tmp_path, mask3d):
    volume = np.zeros((31, 122, 114), np.uint16)
    for k, (y, x) in enumerate(np.ndindex(2, 2)):
        tile = mask3d[:, :: (-1) ** y, :: (-1) ** x]
        volume[:, y * 61 : (y + 1) * 61, x * 57 : (x + 1) * 57] = np.where(tile, tile + 200 * k, 0)
    write_tiff(tmp_path / "labels.tif", volume)
    whole_config = _config(tmp_path)
    assert run("encode", tmp_path / "labels.tif", tmp_path / "ch.tif", "--config",
               whole_config).exit_code == 0  # fmt: skip
    assert run("decode", tmp_path / "ch.tif", tmp_path / "whole.tif", "--config",
               whole_config).exit_code == 0  # fmt: skip
    blocks = _config(tmp_path, ENABLE=True, BLOCK_SIZE=[16, 40, 40], HALO=[24, 48, 48])
    result = run("decode", tmp_path / "ch.tif", tmp_path / "blocks.tif", "--config", blocks)
    assert result.exit_code == 0, result.output
    whole, _ = read_labels(tmp_path / "whole.tif")
    by_blocks, _ = read_labels(tmp_path / "blocks.tif")
    assert np.array_equal(whole > 0, by_blocks > 0)
    pairs = np.unique(np.stack([whole[whole > 0], by_blocks[whole > 0]], axis=1), axis=0)
    assert len(pairs) == len(np.unique(whole)) - 1 == len(np.unique(by_blocks)) - 1 > 150


def test_block_and_halo_need_one_value_per_axis(run, tmp_path, mask3d):
    write_tiff(tmp_path / "labels.tif", mask3d)
    config = _config(tmp_path, ENABLE=True, BLOCK_SIZE=[16, 40])
    assert run("encode", tmp_path / "labels.tif", tmp_path / "ch.tif", "--config",
               config).exit_code == 0  # fmt: skip
    result = run("decode", tmp_path / "ch.tif", tmp_path / "out.tif", "--config", config)
    assert result.exit_code != 0 and "TEST.BY_CHUNKS.BLOCK_SIZE [16, 40]" in result.output
    assert not (tmp_path / "out.tif").exists()


def test_labels_decoded_into_zarr_measure_by_blocks_as_the_tiff_does(
    run, tmp_path, mask3d, monkeypatch
):
    """Decode into a Zarr of labels (block by block) and measure it block by block: the
    instances and the table of decoding into a TIFF and measuring it whole. Then evaluate."""
    import pandas as pd

    import stages.evaluate_blocks

    # evaluation blocks of 8x16x32 voxels: a dozen on this volume
    monkeypatch.setattr(stages.evaluate_blocks, "EVALUATION_BLOCK_VOXELS", 4096)

    write_tiff(tmp_path / "labels.tif", mask3d)
    config = _config(tmp_path, ENABLE=True, BLOCK_SIZE=[8, 24, 24], HALO=[24, 48, 48])
    assert run("encode", tmp_path / "labels.tif", tmp_path / "ch.tif", "--config",
               config).exit_code == 0  # fmt: skip
    for out in ("l.tif", "l.zarr"):
        result = run("decode", tmp_path / "ch.tif", tmp_path / out, "--config", config)
        assert result.exit_code == 0, result.output
        result = run("measure", tmp_path / out, tmp_path / f"{out}.csv", "--resolution", "2,1,1")
        assert result.exit_code == 0, result.output
    assert "measured by blocks" in result.output
    on_disk, _ = read_labels(tmp_path / "l.zarr")
    np.testing.assert_array_equal(on_disk, read_labels(tmp_path / "l.tif")[0])
    whole, blocks = (pd.read_csv(tmp_path / f"{out}.csv") for out in ("l.tif", "l.zarr"))
    assert len(whole) > 40
    blocks = blocks.sort_values("label", ignore_index=True)  # rows as instances end along Z
    pd.testing.assert_frame_equal(blocks[whole.columns], whole, check_dtype=False)
    # regionprops extras come from each instance's region, still never the whole volume
    for out in ("l.tif", "l.zarr"):
        result = run("measure", tmp_path / out, tmp_path / f"{out}.x.csv", "--resolution",
                     "2,1,1", "--extra-props", "solidity,bbox,centroid")  # fmt: skip
        assert result.exit_code == 0, result.output
    assert "measured by blocks" in result.output
    whole, blocks = (pd.read_csv(tmp_path / f"{out}.x.csv") for out in ("l.tif", "l.zarr"))
    assert {"solidity", "bbox-5", "centroid-0"} <= set(whole.columns)
    pd.testing.assert_frame_equal(blocks[whole.columns], whole, check_dtype=False)
    # evaluated block by block (Zarr labels and truth) as whole (TIFFs): the same table,
    # associations and pictures
    import tifffile
    import zarr

    truth = np.roll(mask3d, 1, axis=2)  # one voxel off: some nuclei below an IoU of 0.8
    zarr.save_array(str(tmp_path / "truth.zarr"), truth)
    write_tiff(tmp_path / "truth.tif", truth)
    tables = []
    for name, pred, gt in (("z", "l.zarr", "truth.zarr"), ("t", "l.tif", "truth.tif")):
        result = run("evaluate", "--pred", tmp_path / pred, "--gt", tmp_path / gt, "--channels",
                     tmp_path / "ch.tif", "--out", tmp_path / name / "m.csv", "--thresholds",
                     "0.3,0.8", "--colored", "0.8", "--in-order", "--config", config)  # fmt: skip
        assert result.exit_code == 0, result.output
        tables.append(pd.read_csv(tmp_path / name / "m.csv").drop(columns="file"))
    pd.testing.assert_frame_equal(*tables)
    assert {"IoU F", "IoU C", "0.8 TH f1"} <= set(tables[0].columns)
    assert 0.3 < tables[0]["0.8 TH f1"][0] < 0.8 < tables[0]["0.3 TH f1"][0]
    for table in ("l_th_0.8_gt_assoc.csv", "l_th_0.3_fp.csv"):
        found = [pd.read_csv(tmp_path / n / "point_associations" / table) for n in "zt"]
        pd.testing.assert_frame_equal(*found)
    picture = zarr.open_array(str(tmp_path / "z/point_associations/l_th_0.8_associations.zarr"))
    expected = tifffile.imread(tmp_path / "t/point_associations/l_th_0.8_associations.tif")
    np.testing.assert_array_equal(picture[...], expected)


def test_a_region_of_interest_keeps_instances_inside_it_by_blocks_too(run, tmp_path, mask3d):
    import tifffile

    from stages.roi import roi_region

    write_tiff(tmp_path / "labels.tif", mask3d)
    mask = np.zeros((2, 2, 2), np.uint8)
    mask[:, 1, :] = 1  # the half of larger Y: a coarse mask, scaled onto the volume
    tifffile.imwrite(tmp_path / "roi.tif", mask)
    whole_config = _config(tmp_path)
    assert run("encode", tmp_path / "labels.tif", tmp_path / "ch.tif", "--config",
               whole_config).exit_code == 0  # fmt: skip
    result = run("decode", tmp_path / "ch.tif", tmp_path / "in.tif", "--roi", tmp_path / "roi.tif",
                 "--config", whole_config)  # fmt: skip
    assert result.exit_code == 0, result.output
    inside, _ = read_labels(tmp_path / "in.tif")
    region = roi_region(mask, mask3d.shape)
    assert inside.max() > 10 and not inside[~region].any()
    # block by block from a Zarr of channels, the ROI from the config
    import yaml

    from stages.containers import create_channel_store
    from stages.io import read_channels

    channels, planes, info = read_channels(tmp_path / "ch.tif")
    store = create_channel_store(tmp_path / "ch.zarr", channels.shape, (8, 24, 24),
                                 {**info.metadata, "channels": planes})  # fmt: skip
    store[...] = channels
    config = yaml.safe_load(_config(tmp_path, ENABLE=True, BLOCK_SIZE=[8, 24, 24],
                                    HALO=[24, 48, 48]).read_text())  # fmt: skip
    config["DATA"]["TEST"] = {"ROI_MASK": {"ENABLE": True, "PATH": str(tmp_path / "roi.tif")}}
    (tmp_path / "roi.yaml").write_text(yaml.safe_dump(config))
    result = run("decode", tmp_path / "ch.zarr", tmp_path / "in.zarr", "--config",
                 tmp_path / "roi.yaml")  # fmt: skip
    assert result.exit_code == 0, result.output
    by_blocks, _ = read_labels(tmp_path / "in.zarr")
    assert np.array_equal(by_blocks > 0, inside > 0)
    pairs = np.unique(np.stack([inside[inside > 0], by_blocks[inside > 0]], axis=1), axis=0)
    assert len(pairs) == len(np.unique(inside)) - 1
    # a folder of masks without this image's: one error, nothing written
    (tmp_path / "masks").mkdir()
    for name in ("a", "b"):
        tifffile.imwrite(tmp_path / "masks" / f"{name}.tif", mask)
    result = run("decode", tmp_path / "ch.tif", tmp_path / "x.tif", "--roi", tmp_path / "masks",
                 "--config", whole_config)  # fmt: skip
    assert result.exit_code != 0 and "none named 'ch'" in result.output
    assert not (tmp_path / "x.tif").exists()


def test_labels_in_a_zarr_are_refined_block_by_block_as_whole(run, tmp_path, mask3d):
    """Issue 17 item 4: refine a Zarr of labels into a Zarr, never reading it whole: the
    labels of refining the TIFF whole."""
    import zarr

    volume = np.concatenate([mask3d, np.where(mask3d[:, :, ::-1], mask3d[:, :, ::-1] + 500, 0)], 2)
    write_tiff(tmp_path / "l.tif", volume)
    store = zarr.create_array(str(tmp_path / "l.zarr"), shape=volume.shape, dtype="uint32",
                              chunks=(8, 24, 24), fill_value=0)  # fmt: skip
    store[...] = volume
    store.attrs["spacing"] = [2.0, 1.0, 1.0]
    config = _config(tmp_path, ENABLE=True, BLOCK_SIZE=[8, 24, 24], HALO=[31, 40, 40])
    refine = ("--operations", "erosion,fill_holes,remove_small_objects,clear_border",
              "--values", "1,none,40,none", "--config", config)  # fmt: skip
    result = run("refine", tmp_path / "l.zarr", tmp_path / "r.zarr", *refine)
    assert result.exit_code == 0, result.output
    assert "(by blocks)" in result.output
    result = run("refine", tmp_path / "l.tif", tmp_path / "r.tif", *refine)
    assert result.exit_code == 0, result.output
    by_blocks, _ = read_labels(tmp_path / "r.zarr")
    whole, _ = read_labels(tmp_path / "r.tif")
    assert 10 < whole.max() < len(np.unique(volume)) - 1
    np.testing.assert_array_equal(by_blocks, whole)
    assert zarr.open_array(str(tmp_path / "r.zarr")).attrs["spacing"] == [2.0, 1.0, 1.0]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("tmp")]  # scratch removed
    # without TEST.BY_CHUNKS there is no block size: one error, nothing written
    result = run("refine", tmp_path / "l.zarr", tmp_path / "x.zarr", "--operations", "erosion",
                 "--values", "1", "--config", _config(tmp_path))  # fmt: skip
    assert result.exit_code != 0 and "set TEST.BY_CHUNKS.ENABLE" in result.output
    assert not (tmp_path / "x.zarr").exists()


def test_labels_in_a_zarr_are_filtered_by_properties_block_by_block(run, tmp_path, mask3d):
    """Issue 17: removal by properties of a Zarr of labels, measured block by block: the
    labels and tables of filtering the TIFF whole."""
    import pandas as pd
    import zarr

    volume = np.concatenate([mask3d, np.where(mask3d[:, :, ::-1], mask3d[:, :, ::-1] + 500, 0)], 2)
    write_tiff(tmp_path / "l.tif", volume)
    store = zarr.create_array(str(tmp_path / "l.zarr"), shape=volume.shape, dtype="uint32",
                              chunks=(8, 24, 24), fill_value=0)  # fmt: skip
    store[...] = volume
    store.attrs["axes"] = "ZYX"
    conditions = (
        "--condition",
        "npixels lt 400",
        "--condition",
        "sphericity lt 0.5, npixels lt 900",
    )
    for name in ("z", "t"):
        source = tmp_path / ("l.zarr" if name == "z" else "l.tif")
        out = tmp_path / ("f.zarr" if name == "z" else "f.tif")
        tables = ("--all-stats", tmp_path / f"{name}_all.csv", "--kept-stats",
                  tmp_path / f"{name}_kept.csv")  # fmt: skip
        result = run("filter-by-properties", source, out, *conditions, *tables)
        assert result.exit_code == 0, result.output
    assert "(by blocks)" in run("filter-by-properties", tmp_path / "l.zarr", tmp_path / "g.zarr",
                                *conditions).output  # fmt: skip
    by_blocks, _ = read_labels(tmp_path / "f.zarr")
    whole, _ = read_labels(tmp_path / "f.tif")
    np.testing.assert_array_equal(by_blocks, whole)
    assert 10 < len(np.unique(whole)) - 1 < len(np.unique(volume)) - 1
    for table in ("all", "kept"):
        found, expected = (pd.read_csv(tmp_path / f"{n}_{table}.csv") for n in "zt")
        pd.testing.assert_frame_equal(found[expected.columns], expected, check_dtype=False)
    # with regionprops extras in the tables (EXTRA_PROPS): still block by block, same result
    config = tmp_path / "extra.yaml"
    config.write_text(yaml.safe_dump({"PROBLEM": {"NDIM": "3D"}, "TEST": {"POST_PROCESSING": {
        "MEASURE_PROPERTIES": {"ENABLE": True, "EXTRA_PROPS": ["solidity"]}}}}))  # fmt: skip
    for name in ("z", "t"):
        source = tmp_path / ("l.zarr" if name == "z" else "l.tif")
        out = tmp_path / ("e.zarr" if name == "z" else "e.tif")
        result = run("filter-by-properties", source, out, "--condition", "npixels lt 400",
                     "--config", config, "--all-stats", tmp_path / f"{name}_extra.csv")  # fmt: skip
        assert result.exit_code == 0, result.output
        assert ("(by blocks)" in result.output) == (name == "z")
    np.testing.assert_array_equal(read_labels(tmp_path / "e.zarr")[0],
                                  read_labels(tmp_path / "e.tif")[0])  # fmt: skip
    found, expected = (pd.read_csv(tmp_path / f"{n}_extra.csv") for n in "zt")
    assert "solidity" in expected.columns and (expected["comment"] == "Removed").any()
    pd.testing.assert_frame_equal(found[expected.columns], expected, check_dtype=False)


def test_labels_in_a_zarr_have_their_large_blobs_repaired_block_by_block(
    run, tmp_path, mask3d, monkeypatch
):
    """Issue 17: large-blob repair of a Zarr of labels reads the boxes of the large instances
    only (blocks of 4096 voxels for the copy and the sums): the labels of repairing whole."""
    import zarr

    import stages.evaluate_blocks
    from tests.postprocess.test_large_blobs import _broken_copy

    monkeypatch.setattr(stages.evaluate_blocks, "EVALUATION_BLOCK_VOXELS", 4096)
    labels = mask3d.astype(np.uint32)
    ids, sizes = np.unique(labels[labels > 0], return_counts=True)
    for rank, label_id in enumerate(ids[np.argsort(-sizes)][:4]):  # the four largest, broken
        labels = _broken_copy(labels, int(label_id), 1000 + rank)
    write_tiff(tmp_path / "l.tif", labels)
    zarr.save_array(str(tmp_path / "l.zarr"), labels)
    size = int(np.sort(sizes)[-6])
    for source, out in (("l.tif", "r.tif"), ("l.zarr", "r.zarr")):
        # no config: the rank is the file's
        result = run("repair-large-blobs", tmp_path / source, tmp_path / out, "--min-size", size)
        assert result.exit_code == 0, result.output
    assert "4 merged into larger ones (by blocks)" in result.output
    whole, _ = read_labels(tmp_path / "r.tif")
    np.testing.assert_array_equal(read_labels(tmp_path / "r.zarr")[0], whole)
    np.testing.assert_array_equal(whole, mask3d)  # the four nuclei whole again
