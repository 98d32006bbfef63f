"""plan-decode, decode-blocks and merge-blocks: a volume decoded by parallel jobs gives the
labels of `segpipe decode` by blocks in one job, voxel for voxel."""

import json

import numpy as np
import pytest
import yaml
import zarr

from stages.containers import create_channel_store
from stages.io import read_channels, read_labels, write_tiff


def _config(tmp_path, name: str, **chunks) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({
        "PROBLEM": {"NDIM": "3D", "INSTANCE_SEG": {"DATA_CHANNELS": ["F", "C"]}},
        "DATA": {"PATCH_SIZE": [16, 32, 32, 1]},
        "TEST": {"BY_CHUNKS": chunks},
    }))  # fmt: skip
    return str(path)


@pytest.fixture(scope="module")
def stored_channels(tmp_path_factory, mask3d):
    """Channels of the real 3D nuclei, mirrored twice along X (31x61x114), in a Zarr."""
    from stages.channels import encode_channels

    folder = tmp_path_factory.mktemp("channels")
    volume = np.concatenate([mask3d, np.where(mask3d[:, :, ::-1], mask3d[:, :, ::-1] + 100, 0)], 2)
    channels = encode_channels(volume, ["F", "C"])
    store = create_channel_store(folder / "ch.zarr", channels.shape, (8, 24, 24),
                                 {"channels": ["F", "C"], "spacing": [2.0, 1.0, 1.0]})  # fmt: skip
    store[...] = channels
    return folder / "ch.zarr"


def _decode_in_jobs(run, tmp_path, channels, config, *extra) -> tuple[dict, list]:
    plan = tmp_path / "plan.json"
    result = run("plan-decode", channels, plan, "--config", config, *extra)
    assert result.exit_code == 0, result.output
    planned = json.loads(plan.read_text())
    parts = []
    for group in range(1, len(planned["groups"]) + 1):
        part = tmp_path / f"part{group}.zarr"
        result = run("decode-blocks", plan, part, "--group", group)
        assert result.exit_code == 0, result.output
        parts.append(part)
    return planned, parts


@pytest.mark.parametrize("halo", [(24, 48, 48), (2, 4, 4)])
def test_jobs_of_blocks_merge_into_the_labels_of_one_decode(
    run, tmp_path, stored_channels, halo, caplog
):
    config = _config(tmp_path, "c", ENABLE=True, BLOCK_SIZE=[8, 24, 24], HALO=list(halo),
                     DECODE_BLOCKS_PER_JOB=7)  # fmt: skip
    result = run("decode", stored_channels, tmp_path / "one.zarr", "--config", config)
    assert result.exit_code == 0, result.output
    planned, parts = _decode_in_jobs(run, tmp_path, stored_channels, config)
    # 4 x 3 x 5 blocks in groups of 7: 9 jobs; 'auto' thresholds fixed once, in the plan
    assert planned["blocks"] == 60 and len(planned["groups"]) == 9
    assert all(isinstance(t, float) for t in planned["settings"]["seed_thresholds"])
    result = run("merge-blocks", tmp_path / "plan.json", tmp_path / "jobs.zarr", *parts[::-1])
    assert result.exit_code == 0, result.output
    one, _ = read_labels(tmp_path / "one.zarr")
    jobs, _ = read_labels(tmp_path / "jobs.zarr")
    assert one.max() > 80
    np.testing.assert_array_equal(jobs, one)
    attrs = dict(zarr.open_array(str(tmp_path / "jobs.zarr")).attrs)
    expected = dict(zarr.open_array(str(tmp_path / "one.zarr")).attrs)
    assert attrs["objects"] == expected["objects"] == one.max()
    assert attrs["settings"] == expected["settings"] and attrs["spacing"] == [2.0, 1.0, 1.0]
    merge_warnings = [r.message for r in caplog.records if r.filename == "merge_blocks.py"]
    assert bool(merge_warnings) == (attrs["settings"]["by_blocks"]["cut"] > 0)


def test_a_region_of_interest_and_tuned_thresholds_travel_in_the_plan(
    run, tmp_path, stored_channels
):
    import tifffile

    mask = np.zeros((2, 2, 2), np.uint8)
    mask[:, 1, :] = 1
    tifffile.imwrite(tmp_path / "roi.tif", mask)
    (tmp_path / "tuned.json").write_text(json.dumps(
        {"decoder": "watershed", "thresholds": {"seed_thresholds": [0.6, 0.4]}}))  # fmt: skip
    config = _config(tmp_path, "c", ENABLE=True, BLOCK_SIZE=[16, 32, 32], HALO=[16, 32, 32])
    extra = ("--roi", tmp_path / "roi.tif", "--tuned", tmp_path / "tuned.json")
    result = run("decode", stored_channels, tmp_path / "one.zarr", "--config", config, *extra)
    assert result.exit_code == 0, result.output
    planned, parts = _decode_in_jobs(run, tmp_path, stored_channels, config, *extra)
    assert planned["settings"]["seed_thresholds"] == [0.6, 0.4]
    assert planned["roi"]["mask"] == str(tmp_path / "roi.tif")
    result = run("merge-blocks", tmp_path / "plan.json", tmp_path / "jobs.zarr", *parts)
    assert result.exit_code == 0, result.output
    one, _ = read_labels(tmp_path / "one.zarr")
    np.testing.assert_array_equal(read_labels(tmp_path / "jobs.zarr")[0], one)
    assert one.max() > 20 and not one[:, :30].any()


def test_bad_plans_groups_and_parts_are_named(run, tmp_path, stored_channels):
    whole = _config(tmp_path, "whole")
    result = run("plan-decode", stored_channels, tmp_path / "p.json", "--config", whole)
    assert result.exit_code != 0 and "needs TEST.BY_CHUNKS.ENABLE" in result.output
    assert not (tmp_path / "p.json").exists()
    config = _config(tmp_path, "c", ENABLE=True, BLOCK_SIZE=[16, 32, 64], HALO=[4, 8, 8])
    planned, parts = _decode_in_jobs(run, tmp_path, stored_channels, config)
    assert len(planned["groups"]) == 1 and planned["blocks"] == 2 * 2 * 2
    # --blocks-per-job before the config's DECODE_BLOCKS_PER_JOB
    result = run("plan-decode", stored_channels, tmp_path / "p3.json", "--blocks-per-job", 3,
                 "--config", config)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "p3.json").read_text())["groups"] == [[0, 1, 2], [3, 4, 5],
                                                                        [6, 7]]  # fmt: skip
    result = run("decode-blocks", tmp_path / "plan.json", tmp_path / "x.zarr", "--group", 2)
    assert result.exit_code != 0 and "plans 1 group(s), not 2" in result.output
    assert not (tmp_path / "x.zarr").exists()
    (tmp_path / "bad.json").write_text("{}")
    result = run("decode-blocks", tmp_path / "bad.json", tmp_path / "x.zarr", "--group", 1)
    assert result.exit_code != 0 and "bad.json: not a plan written by `segpipe plan-decode`" in (
        result.output
    )
    # a part of another plan, twice the same part, or no part for a group
    result = run("merge-blocks", tmp_path / "plan.json", tmp_path / "l.zarr", stored_channels)
    assert result.exit_code != 0 and "not a part written by `segpipe decode-blocks`" in (
        result.output
    )
    result = run("merge-blocks", tmp_path / "plan.json", tmp_path / "l.zarr", parts[0], parts[0])
    assert result.exit_code != 0 and "not one of the parts" in result.output
    assert not (tmp_path / "l.zarr").exists()
    plan = json.loads((tmp_path / "plan.json").read_text())
    plan["groups"] = [[0, 1, 2, 3], [4, 5, 6, 7]]
    (tmp_path / "two.json").write_text(json.dumps(plan))
    result = run("merge-blocks", tmp_path / "two.json", tmp_path / "l.zarr", parts[0])
    assert result.exit_code != 0 and "no part given for group(s) [2]" in result.output
    # channels that changed after the plan
    channels, planes, _ = read_channels(stored_channels)
    write_tiff(tmp_path / "other.tif", channels[:, :, :50], metadata={"channels": planes})
    plan["channels_path"] = str(tmp_path / "other.tif")
    (tmp_path / "moved.json").write_text(json.dumps(plan))
    result = run("decode-blocks", tmp_path / "moved.json", tmp_path / "x.zarr", "--group", 1)
    assert result.exit_code != 0 and "was planned for" in result.output
