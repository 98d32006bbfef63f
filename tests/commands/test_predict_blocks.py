"""segpipe plan-blocks / predict-blocks: a volume predicted block by block into a Zarr of
channels equals predicting it whole, and decodes from the Zarr as the TIFF does."""

import json

import numpy as np
import pandas as pd
import pytest
import tifffile
import yaml

from stages.io import open_channels, read_channels, read_labels


def _blocks_config(tiny_config, tmp_path, **chunks):
    config = yaml.safe_load(tiny_config.read_text())
    config["TEST"]["BY_CHUNKS"] = {"ENABLE": True, "BLOCK_SIZE": [18, 18], "HALO": [32, 32],
                                   "BLOCKS_PER_JOB": 3, **chunks}  # fmt: skip
    config["PROBLEM"] = {"INSTANCE_SEG": {"WATERSHED": {"MERGE_FRAGMENTS_BELOW": 0.0}}}
    path = tmp_path / "blocks.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def image(tmp_path, img2d):
    """A 2D tile of real nuclei larger than one patch, stored uncompressed (memory-mapped)."""
    path = tmp_path / "volume" / "tile.tif"
    path.parent.mkdir()
    tifffile.imwrite(path, img2d[200:290, 180:250])
    return path


def test_blocks_predicted_in_groups_equal_the_whole_prediction(
    run, trained, tiny_config, tmp_path, image, mask2d
):
    config = _blocks_config(tiny_config, tmp_path)
    store, plan = tmp_path / "out" / "tile.zarr", tmp_path / "out" / "tile.plan.json"
    result = run("plan-blocks", image, store, plan, "--model", trained, "--config", config)
    assert result.exit_code == 0, result.output
    planned = json.loads(plan.read_text())
    # blocks of whole grid steps (core 24, overlap 0.25: 18) tile 90x70 in 5x4, 3 a job
    assert planned["block"] == [18, 18]
    assert len(planned["blocks"]) == 5 * 4 and len(planned["groups"]) == 7
    # before any job, every value is missing
    with pytest.raises(ValueError, match="never predicted"):
        read_channels(store)
    for group in range(1, 8):
        done = tmp_path / "out" / f"group{group}.json"
        result = run("predict-blocks", plan, "--model", trained, "--group", group,
                     "--done", done, "--threads", "1")  # fmt: skip
        assert result.exit_code == 0, result.output
        assert len(json.loads(done.read_text())["blocks"]) == len(planned["groups"][group - 1])
    # the same image predicted whole, through predict and reconstruct
    assert run("predict", image, tmp_path / "p.npz", "--model", trained, "--config",
               config).exit_code == 0  # fmt: skip
    assert run("reconstruct", tmp_path / "p.npz", "--out", tmp_path / "whole.tif").exit_code == 0
    whole, codes, _ = read_channels(tmp_path / "whole.tif")
    by_blocks, block_codes, info = read_channels(store)
    assert block_codes == codes and info.metadata["source"] == str(image)
    np.testing.assert_allclose(by_blocks, whole, rtol=1e-4, atol=1e-5)
    # decoded from the Zarr (block by block) as from the TIFF
    assert run("decode", store, tmp_path / "from_zarr.tif", "--config", config).exit_code == 0
    assert run("decode", tmp_path / "whole.tif", tmp_path / "from_tif.tif", "--config",
               config).exit_code == 0  # fmt: skip
    from_zarr, _ = read_labels(tmp_path / "from_zarr.tif")
    from_tif, _ = read_labels(tmp_path / "from_tif.tif")
    assert from_zarr.max() > 3
    np.testing.assert_array_equal(from_zarr, from_tif)
    # into a Zarr of labels, block by block: the same instances
    assert run("decode", store, tmp_path / "labels.zarr", "--config", config).exit_code == 0
    on_disk, _ = read_labels(tmp_path / "labels.zarr")
    np.testing.assert_array_equal(on_disk, from_tif)
    whole_config = tmp_path / "whole.yaml"
    whole_config.write_text(tiny_config.read_text())
    result = run("decode", store, tmp_path / "l2.zarr", "--config", whole_config)
    assert result.exit_code != 0 and "written into a Zarr block by block" in result.output
    assert not (tmp_path / "l2.zarr").exists()
    # evaluate scores the channels of the Zarr as those of the TIFF
    tifffile.imwrite(tmp_path / "gt.tif", mask2d[200:290, 180:250])
    tables = []
    for name, channels in (("zarr", store), ("tif", tmp_path / "whole.tif")):
        result = run("evaluate", "--pred", tmp_path / "from_tif.tif", "--gt", tmp_path / "gt.tif",
                     "--channels", channels, "--in-order", "--out", tmp_path / f"{name}.csv",
                     "--ndim", "2D")  # fmt: skip
        assert result.exit_code == 0, result.output
        tables.append(pd.read_csv(tmp_path / f"{name}.csv").drop(columns="file", errors="ignore"))
    pd.testing.assert_frame_equal(*tables)
    assert any(column.startswith("IoU") for column in tables[0].columns)


def test_a_missing_group_is_named_when_decoding(run, trained, tiny_config, tmp_path, image):
    config = _blocks_config(tiny_config, tmp_path)
    store, plan = tmp_path / "tile.zarr", tmp_path / "tile.plan.json"
    assert run("plan-blocks", image, store, plan, "--model", trained, "--config",
               config).exit_code == 0  # fmt: skip
    assert run("predict-blocks", plan, "--model", trained, "--group", 1).exit_code == 0
    result = run("decode", store, tmp_path / "labels.tif", "--config", config)
    assert result.exit_code != 0 and "never predicted" in result.output
    assert not (tmp_path / "labels.tif").exists()
    regions, _, _ = open_channels(store)
    assert regions[(slice(None), slice(0, 18), slice(0, 18))].shape == (2, 18, 18)


def test_bad_plans_and_groups_are_refused(run, trained, tiny_config, tmp_path, image):
    config = _blocks_config(tiny_config, tmp_path)
    plan = tmp_path / "tile.plan.json"
    assert run("plan-blocks", image, tmp_path / "tile.zarr", plan, "--model", trained,
               "--config", config).exit_code == 0  # fmt: skip
    result = run("predict-blocks", plan, "--model", trained, "--group", 8)
    assert result.exit_code != 0 and "plans 7 group(s), not 8" in result.output
    (tmp_path / "bad.json").write_text("{}")
    result = run("predict-blocks", tmp_path / "bad.json", "--model", trained, "--group", 1)
    assert result.exit_code != 0 and "not a plan written by `segpipe plan-blocks`" in result.output
    result = run("plan-blocks", tmp_path / "missing.tif", tmp_path / "m.zarr", tmp_path / "m.json",
                 "--model", trained, "--config", config)  # fmt: skip
    assert result.exit_code != 0 and "missing.tif does not exist" in result.output
    assert not (tmp_path / "m.zarr").exists() and not (tmp_path / "m.json").exists()
