"""train -> predict -> reconstruct -> decode -> refine -> measure -> evaluate, by hand, with their
error paths."""

import numpy as np
import pandas as pd
import pytest

from stages.io import read_channels, read_tiff, write_tiff

from .conftest import no_partial_files


def test_full_chain_by_hand(run, dataset, tiny_config, trained, tmp_path):
    image = dataset / "test/raw/img-0.tif"
    for k in (1, 2):
        result = run(
            "predict",
            image,
            tmp_path / f"p{k}.npz",
            "--model",
            trained,
            "--shard",
            f"{k}/2",
            "--config",
            tiny_config,
        )
        assert result.exit_code == 0, result.output
    assert (
        run(
            "reconstruct",
            tmp_path / "p1.npz",
            tmp_path / "p2.npz",
            "--out",
            tmp_path / "per_image/img-0.tif",
        ).exit_code
        == 0
    )
    channels, codes, _ = read_channels(tmp_path / "per_image/img-0.tif")
    assert (
        codes == ["F", "C"]
        and channels.shape == (2, 64, 64)
        and 0 <= channels.min()
        and channels.max() <= 1
    )
    result = run(
        "decode",
        tmp_path / "per_image/img-0.tif",
        tmp_path / "inst/img-0.tif",
        "--config",
        tiny_config,
    )
    assert result.exit_code == 0, result.output
    result = run(
        "refine", tmp_path / "inst/img-0.tif", tmp_path / "post/img-0.tif", "--config", tiny_config
    )
    assert result.exit_code == 0, result.output
    result = run(
        "measure",
        tmp_path / "post/img-0.tif",
        tmp_path / "post/img-0_full_stats.csv",
        "--resolution",
        "0.5,0.5",
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "post/img-0_full_stats.csv")
    assert (table["area"] == table["npixels"] * 0.25).all()
    result = run(
        "evaluate",
        "--pred",
        tmp_path / "inst",
        "--post",
        tmp_path / "post",
        "--gt",
        dataset / "test/label",
        "--out",
        tmp_path / "metrics.csv",
        "--thresholds",
        "0.5",
    )
    assert result.exit_code == 0, result.output
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert list(metrics["file"]) == ["img-0", "average"]
    assert {"0.5 TH f1", "0.5 TH (post)f1", "0.5 TH panoptic_quality", "0.5 TH tp"} <= set(
        metrics.columns
    )
    assert (tmp_path / "point_associations" / "img-0_th_0.5_gt_assoc.csv").exists()
    assert (tmp_path / "point_associations" / "img-0_post_th_0.5_fp.csv").exists()
    assert no_partial_files(tmp_path)


def test_decode_debug_images_and_errors(run, dataset, tmp_path):
    config = tmp_path / "mw.yaml"
    config.write_text("PROBLEM:\n  INSTANCE_SEG:\n    WATERSHED:\n      DATA_CHECK_MW: true\n")
    assert (
        run(
            "encode", dataset / "train/label/img-0.tif", tmp_path / "c.tif", "--channels", "F,C"
        ).exit_code
        == 0
    )
    result = run(
        "decode",
        tmp_path / "c.tif",
        tmp_path / "inst/x.tif",
        "--config",
        config,
        "--debug-dir",
        tmp_path / "mw",
    )
    assert result.exit_code == 0
    assert {p.name for p in (tmp_path / "mw").iterdir()} == {
        "seed_map.tif",
        "semantic.tif",
        "foreground.tif",
        "settings.json",
    }
    labels, _ = read_tiff(tmp_path / "inst/x.tif")
    truth, _ = read_tiff(dataset / "train/label/img-0.tif")
    assert labels.max() >= len(np.unique(truth)) - 3
    write_tiff(tmp_path / "nocodes.tif", np.zeros((2, 8, 8), np.float32))
    result = run("decode", tmp_path / "nocodes.tif", tmp_path / "y.tif")
    assert result.exit_code == 1 and "no channel codes in its metadata" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("PROBLEM:\n  INSTANCE_SEG:\n    WATERSHED:\n      SEED_CHANNEL: [F]\n")
    result = run("decode", tmp_path / "c.tif", tmp_path / "y.tif", "--config", bad)
    assert (
        result.exit_code == 1
        and "did you mean PROBLEM.INSTANCE_SEG.WATERSHED.SEED_CHANNELS?" in result.output
    )
    assert not (tmp_path / "y.tif").exists()


def test_decode_on_one_thread_gives_the_same_stardist_labels(run, dataset, tmp_path):
    import numba

    assert (
        run(
            "encode", dataset / "train/label/img-0.tif", tmp_path / "c.tif", "--channels", "Db,R"
        ).exit_code
        == 0
    )
    before = numba.get_num_threads()
    try:
        for threads in ([], ["--threads", "1"]):
            result = run(
                "decode", tmp_path / "c.tif", tmp_path / f"inst{len(threads)}.tif", *threads
            )
            assert result.exit_code == 0 and "(stardist)" in result.output, result.output
    finally:
        numba.set_num_threads(before)
    labels = [read_tiff(tmp_path / f"inst{n}.tif")[0] for n in (0, 2)]
    assert labels[0].max() > 0
    np.testing.assert_array_equal(labels[0], labels[1])
    result = run("decode", tmp_path / "c.tif", tmp_path / "y.tif", "--threads", "0")
    assert result.exit_code == 2 and "Invalid value for '--threads'" in result.output


def test_predict_and_reconstruct_errors(run, dataset, tiny_config, trained, tmp_path):
    image = dataset / "test/raw/img-0.tif"
    result = run(
        "predict",
        image,
        tmp_path / "p.npz",
        "--model",
        trained,
        "--shard",
        "3/2",
        "--config",
        tiny_config,
    )
    assert result.exit_code == 2 and "k must lie in 1..n" in result.output
    result = run(
        "predict",
        image,
        tmp_path / "p.npz",
        "--model",
        tmp_path / "none.pt",
        "--config",
        tiny_config,
    )
    assert result.exit_code == 1 and "none.pt does not exist" in result.output
    assert (
        run(
            "predict",
            image,
            tmp_path / "p1.npz",
            "--model",
            trained,
            "--shard",
            "1/2",
            "--config",
            tiny_config,
        ).exit_code
        == 0
    )
    result = run("reconstruct", tmp_path / "p1.npz", "--out", tmp_path / "r.tif")
    assert (
        result.exit_code == 1
        and "a shard is missing" in result.output
        and not (tmp_path / "r.tif").exists()
    )
    result = run(
        "reconstruct", tmp_path / "p1.npz", tmp_path / "p1.npz", "--out", tmp_path / "r.tif"
    )
    assert result.exit_code == 1 and "repeats patches" in result.output


def test_many_images_in_one_predict_equal_one_each_and_a_bad_one_fails_alone(
    run, dataset, tiny_config, trained, tmp_path
):
    """One process predicts a group of images (RUN.PREDICT_IMAGES_PER_JOB); the patch files
    are those of one process per image, and an unreadable image leaves its reason for its own
    reconstruct, with --keep-going, or fails the whole group, leaving nothing, without."""
    images = [dataset / "test/raw/img-0.tif", dataset / "train/raw/img-1.tif"]
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"not a TIFF")
    for image in images:
        assert run("predict", image, tmp_path / f"{image.stem}.npz", "--model", trained,
                   "--config", tiny_config).exit_code == 0  # fmt: skip
    group = tmp_path / "group"
    result = run("predict", *images, bad, "--out-dir", group, "--keep-going", "--model",
                 trained, "--config", tiny_config)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 of 3 image(s) predicted" in result.output
    assert sorted(p.name for p in group.iterdir()) == ["bad.error", "img-0.npz", "img-1.npz"]
    for image in images:
        with (
            np.load(group / f"{image.stem}.npz") as one,
            np.load(tmp_path / f"{image.stem}.npz") as alone,
        ):
            np.testing.assert_array_equal(one["channels"], alone["channels"])
            assert str(one["header"]) == str(alone["header"])
    result = run("reconstruct", group / "bad.npz", "--out", tmp_path / "bad_channels.tif")
    assert result.exit_code == 1 and "bad.tif is not a readable TIFF" in result.output
    assert not (tmp_path / "bad_channels.tif").exists()
    assert run("reconstruct", group / "img-0.npz", "--out", tmp_path / "c.tif").exit_code == 0

    strict = tmp_path / "strict"
    result = run("predict", images[0], bad, "--out-dir", strict, "--model", trained,
                 "--config", tiny_config)  # fmt: skip
    assert result.exit_code == 1 and "bad.tif is not a readable TIFF" in result.output
    assert not strict.exists() and no_partial_files(tmp_path)
    result = run("predict", images[0], images[0], "--out-dir", strict, "--model", trained)
    assert result.exit_code == 2 and "would both write img-0.npz" in result.output
    result = run("predict", *images, tmp_path / "x.npz", "--model", trained)
    assert result.exit_code == 2 and "IMAGE... --out-dir DIR" in result.output


def test_train_errors(run, dataset, tiny_config, tmp_path):
    result = run(
        "train",
        "--raw",
        dataset / "train/raw",
        "--label",
        dataset / "test/label",
        "--out",
        tmp_path / "m",
        "--config",
        tiny_config,
    )
    assert result.exit_code == 1 and "2 raw image(s)" in result.output
    result = run(
        "train",
        "--raw",
        dataset / "train/raw",
        "--label",
        dataset / "train/label",
        "--val-raw",
        dataset / "test/raw",
        "--out",
        tmp_path / "m",
        "--config",
        tiny_config,
    )
    assert result.exit_code == 2 and "--val-raw and --val-label together" in result.output
    assert not (tmp_path / "m" / "model.pt").exists()


def test_refine_measure_evaluate_errors(run, dataset, tmp_path):
    label = dataset / "train/label/img-0.tif"
    result = run("refine", label, tmp_path / "r.tif", "--operations", "smooth", "--values", "none")
    assert result.exit_code == 2 and "unknown operation(s) ['smooth']" in result.output
    result = run("refine", label, tmp_path / "r.tif", "--operations", "dilation")
    assert result.exit_code == 2
    result = run("measure", label, tmp_path / "m.csv", "--resolution", "1,2,3")
    assert result.exit_code == 2 and "needs 2 positive value(s)" in result.output
    result = run("measure", label, tmp_path / "m.csv", "--extra-props", "not_a_property")
    assert result.exit_code == 1 and not (tmp_path / "m.csv").exists()
    result = run(
        "evaluate",
        "--pred",
        dataset / "train/label",
        "--gt",
        dataset / "test/label",
        "--out",
        tmp_path / "e.csv",
    )
    assert result.exit_code == 1 and "img-1.tif: no ground truth named 'img-1'" in result.output
    result = run(
        "evaluate",
        "--pred",
        dataset / "train/label",
        "--gt",
        dataset / "train/label",
        "--out",
        tmp_path / "e.csv",
        "--thresholds",
        "2",
    )
    assert result.exit_code == 2 and "thresholds must lie in [0, 1]" in result.output


def test_evaluate_pairs_by_name_and_reads_only_the_files_it_is_given(run, dataset, tmp_path):
    """A stale prediction left in the folder does not break evaluate given the exact files;
    names pair prediction and ground truth, not sorted positions (issue 13, item 9)."""
    import shutil

    preds = tmp_path / "pred"
    preds.mkdir()
    for name in ("img-0", "img-1"):
        shutil.copy(dataset / "train/label" / f"{name}.tif", preds / f"{name}.tif")
    shutil.copy(dataset / "train/label/img-0.tif", preds / "old-image.tif")  # stale
    out = tmp_path / "e.csv"
    given = ["--pred", preds / "img-1.tif", "--pred", preds / "img-0.tif"]
    gts = ["--gt", dataset / "train/label/img-0.tif", "--gt", dataset / "train/label/img-1.tif"]
    result = run("evaluate", *given, *gts, "--out", out, "--thresholds", "0.5")
    assert result.exit_code == 0, result.output
    metrics = pd.read_csv(out)
    assert list(metrics["file"]) == ["img-0", "img-1", "average"]  # paired by name
    assert (metrics["0.5 TH f1"] == 1.0).all()
    # the whole folder holds the stale file: refused, naming it
    result = run("evaluate", "--pred", preds, *gts, "--out", tmp_path / "f.csv")
    assert result.exit_code == 1 and "old-image.tif: no ground truth named 'old-image'" in (
        result.output
    )
    assert not (tmp_path / "f.csv").exists()
    # --in-order pairs as given (differently named ground truth, as BiaPy folders allow)
    result = run("evaluate", *given, *gts, "--in-order", "--out", out, "--thresholds", "0.5")
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(out)["file"]) == ["img-1", "img-0", "average"]
    assert pd.read_csv(out)["0.5 TH f1"].iloc[0] < 1.0  # img-1 scored against img-0


def test_config_command(run, tiny_config):
    result = run("config", tiny_config, "--stage", "decode")
    assert result.exit_code == 0 and "WATERSHED" in result.output and "TRAIN" not in result.output
    assert "| `TRAIN.EPOCHS` |" in run("config", "--reference").output


def test_help_and_cpu_stages_do_not_import_torch(run):
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from stages.cli import main; sys.argv = ['segpipe', 'decode', "
            "'--help']; main()",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and "CHANNELS_PATH OUT_PATH" in out.stdout
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from stages.commands import decode, measure, evaluate, refine, "
            "median_filter, repair_large_blobs, filter_by_properties; "
            "print('torch' in sys.modules)",
        ],
        capture_output=True,
        text=True,
    )
    assert check.stdout.strip() == "False"


def test_predict_without_a_config_takes_the_patch_size_from_the_model(
    run, dataset, trained, tmp_path
):
    """The model card says its patch (32x32 here, not the 256x256 default); padding is 1/8."""
    import json

    out = tmp_path / "nocfg.npz"
    result = run("predict", dataset / "test/raw/img-0.tif", out, "--model", trained)
    assert result.exit_code == 0, result.output
    with np.load(out) as data:
        header = json.loads(str(data["header"]))
    assert header["patch_size"] == [32, 32] and header["padding"] == [4, 4]
    # cores of 32 - 2 * 4 = 24 pixels tile the 64x64 image in 3 x 3 patches
    assert header["overlap"] == [0.0, 0.0] and header["patches"] == 9


def test_machine_failures_are_one_line_and_debug_keeps_the_traceback(
    run, dataset, tmp_path, monkeypatch
):
    """Disk full and out of memory end in one line naming what to do (issue 13, item 8)."""
    import errno

    import stages.measure

    monkeypatch.setenv("SEGPIPE_DEBUG", "")  # restored after the test, which sets it below
    label = dataset / "train/label/img-0.tif"

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "m.csv"))

    monkeypatch.setattr(stages.measure, "measure_instances", disk_full)
    result = run("measure", label, tmp_path / "m.csv")
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: No space left on device: {tmp_path / 'm.csv'}"

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(stages.measure, "measure_instances", no_memory)
    result = run("measure", label, tmp_path / "m.csv")
    assert result.exit_code == 1 and "out of memory: give the job more memory" in result.output
    with pytest.raises(MemoryError):
        run("--debug", "measure", label, tmp_path / "m.csv")


def test_a_fine_tuned_model_keeps_the_layout_of_the_model_it_started_from(
    run, dataset, tiny_config, trained, tmp_path
):
    """A model segpipe trained before 2026-12-04 (layout 2: decoders concatenating the skip
    connection first) fine-tunes as the network it is, and the result says so: built in
    today's layout, the same tensors would be another function."""
    import json

    import torch

    stored = torch.load(trained, weights_only=True)
    meta = json.loads(stored["meta"])
    assert meta["spec"]["layout"] == 3  # what segpipe trains now
    meta["spec"]["layout"] = 2
    earlier = tmp_path / "earlier.pt"
    torch.save({"model": stored["model"], "meta": json.dumps(meta)}, earlier)
    result = run("train", "--raw", dataset / "train/raw", "--label", dataset / "train/label",
                 "--out", tmp_path / "tuned", "--init-model", earlier, "--no-progress",
                 "--threads", "1", "--config", tiny_config)  # fmt: skip
    assert result.exit_code == 0, result.output
    tuned = json.loads(torch.load(tmp_path / "tuned" / "model.pt", weights_only=True)["meta"])
    assert tuned["spec"]["layout"] == 2


def test_train_fine_tunes_a_model_from_any_path(run, dataset, tiny_config, trained, tmp_path):
    """MODEL.LOAD_CHECKPOINT + PATHS.CHECKPOINT_FILE (or --init-model) start from a model."""
    import shutil

    import torch
    import yaml

    elsewhere = tmp_path / "shared models" / "nuclei.pt"
    elsewhere.parent.mkdir()
    shutil.copy(trained, elsewhere)
    config = yaml.safe_load(tiny_config.read_text())
    config.setdefault("MODEL", {})["LOAD_CHECKPOINT"] = True
    config["PATHS"] = {"CHECKPOINT_FILE": str(elsewhere)}
    config["TRAIN"]["EPOCHS"] = 1
    fine = tmp_path / "fine.yaml"
    fine.write_text(yaml.safe_dump(config))
    args = ["train", "--raw", dataset / "train/raw", "--label", dataset / "train/label"]
    result = run(*args, "--out", tmp_path / "tuned", "--no-progress", "--config", fine)
    assert result.exit_code == 0, result.output
    # one epoch of a small learning rate from the trained weights stays next to them
    start = torch.load(elsewhere, weights_only=True)["model"]
    tuned = torch.load(tmp_path / "tuned" / "model_last.pt", weights_only=True)["model"]
    first = next(name for name, tensor in start.items() if tensor.is_floating_point())
    assert (tuned[first] - start[first]).abs().max() < 0.1
    # a model for other channels is refused, naming the file and the difference
    config["PROBLEM"] = {"INSTANCE_SEG": {"DATA_CHANNELS": ["F", "C", "Db"]}}
    fine.write_text(yaml.safe_dump(config))
    result = run(*args, "--out", tmp_path / "other", "--no-progress", "--config", fine)
    assert result.exit_code == 1
    assert "nuclei.pt: cannot fine-tune this model with this config" in result.output
    assert "out_channels 2 (wanted 3)" in result.output
    assert not (tmp_path / "other" / "model.pt").exists()
    # ... unless only the tensors that fit are taken (MODEL.SKIP_UNMATCHED_LAYERS); the first
    # level frozen (MODEL.FREEZE_LAYERS_MATCHING) keeps the starting model's weights exactly
    config["MODEL"]["SKIP_UNMATCHED_LAYERS"] = True
    config["MODEL"]["FREEZE_LAYERS_MATCHING"] = [r"^encoders\.0\."]
    fine.write_text(yaml.safe_dump(config))
    result = run(*args, "--out", tmp_path / "other", "--no-progress", "--config", fine)
    assert result.exit_code == 0, result.output
    other = torch.load(tmp_path / "other" / "model_last.pt", weights_only=True)["model"]
    frozen = [name for name in other if name.startswith("encoders.0.") and "weight" in name]
    assert frozen and all(torch.equal(other[name], start[name]) for name in frozen)
    assert other["head.weight"].shape[0] == 3 != start["head.weight"].shape[0]
    config["MODEL"]["FREEZE_LAYERS_MATCHING"] = ["^nothing_is_named_so"]
    fine.write_text(yaml.safe_dump(config))
    result = run(*args, "--out", tmp_path / "none", "--no-progress", "--config", fine)
    assert result.exit_code != 0 and "matches no parameter of the network" in result.output


def test_decode_with_voronoi_fills_the_foreground(run, dataset, tmp_path):
    import yaml

    from stages.io import read_labels

    label = dataset / "train/label/img-0.tif"
    assert run("encode", label, tmp_path / "ch.tif", "--channels", "F,C").exit_code == 0
    config = tmp_path / "v.yaml"
    config.write_text(
        yaml.safe_dump({"TEST": {"POST_PROCESSING": {"VORONOI_ON_MASK": True, "VORONOI_TH": 0.5}}})
    )
    for name, extra in (("plain", []), ("voronoi", ["--config", config])):
        result = run("decode", tmp_path / "ch.tif", tmp_path / f"{name}.tif", *extra)
        assert result.exit_code == 0, result.output
    plain, _ = read_labels(tmp_path / "plain.tif")
    grown, _ = read_labels(tmp_path / "voronoi.tif")
    truth, _ = read_labels(label)
    channels, _, _ = read_channels(tmp_path / "ch.tif")
    mask = (channels[0] > 0.5) | (channels[1] > 0.5)  # F and the (thick) contours
    assert (grown > 0).sum() > (plain > 0).sum()
    assert (grown[truth > 0] > 0).all()  # every foreground pixel belongs to an instance
    np.testing.assert_array_equal(grown > 0, mask | (plain > 0))


def test_tune_chooses_thresholds_on_the_validation_cells_and_decode_applies_them(
    run, dataset, tiny_config, trained, tmp_path
):
    import json

    from stages.io import read_labels

    folder = trained.parent
    record = json.loads((folder / "validation.json").read_text())
    assert record["patch"] == [32, 32]
    held = [cell for image in record["images"] for cell in image["cells"]]
    assert held and all(image["raw"].endswith(".tif") for image in record["images"])
    out = tmp_path / "tuned.json"
    result = run("tune", trained, folder / "validation.json", out, "--config", tiny_config)
    assert result.exit_code == 0, result.output
    tuned = json.loads(out.read_text())
    assert tuned["decoder"] == "watershed" and tuned["validation_images"] == len(held)
    assert tuned["f1_after"] >= tuned["f1_before"]
    assert tuned["f1_after"] == max(row["f1"] for row in tuned["tried"])
    assert len(tuned["tried"]) == 49
    # decode takes them instead of the config's
    assert (
        run(
            "predict",
            dataset / "test/raw/img-0.tif",
            tmp_path / "p.npz",
            "--model",
            trained,
            "--config",
            tiny_config,
        ).exit_code
        == 0
    )
    assert run("reconstruct", tmp_path / "p.npz", "--out", tmp_path / "ch.tif").exit_code == 0
    result = run(
        "decode", tmp_path / "ch.tif", tmp_path / "i.tif", "--tuned", out, "--config", tiny_config
    )
    assert result.exit_code == 0, result.output
    used = read_labels(tmp_path / "i.tif")[1].metadata["settings"]
    assert used["seed_thresholds"]["F"] == pytest.approx(tuned["thresholds"]["seed_thresholds"][0])
    assert used["growth_thresholds"]["F"] == pytest.approx(
        tuned["thresholds"]["growth_thresholds"][0]
    )
    # bad files: one line each
    (tmp_path / "bad.json").write_text("{}")
    result = run("tune", trained, tmp_path / "bad.json", tmp_path / "x.json")
    assert (
        result.exit_code == 1
        and "not a validation.json written by `segpipe train`" in result.output
    )
    result = run(
        "decode", tmp_path / "ch.tif", tmp_path / "x.tif", "--tuned", tmp_path / "bad.json"
    )
    assert result.exit_code == 1 and "not a thresholds file of `segpipe tune`" in result.output
    assert not (tmp_path / "x.json").exists() and not (tmp_path / "x.tif").exists()


def test_full_image_prediction_is_one_pass_over_the_padded_image(
    run, dataset, tiny_config, trained, tmp_path, img2d
):
    """TEST.FULL_IMG (issue 16): one patch, the image rounded up to the network's multiple."""
    import json

    odd = tmp_path / "odd.tif"
    write_tiff(odd, img2d[100:161, 200:259])  # 61 x 59
    result = run("predict", odd, tmp_path / "full.npz", "--model", trained, "--full-image",
                 "--config", tiny_config)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 of 1 patch(es)" in result.output
    with np.load(tmp_path / "full.npz") as saved:
        header = json.loads(str(saved["header"]))
        assert header["patch_size"] == [62, 60] and header["padding"] == [0, 0]  # two levels
        # the hand-over holds the image's rows, blended: (rows, channels, X), cropped to 61 x 59
        assert saved["channels"].shape == (61, 2, 59) and int(saved["first_row"]) == 0
    assert run("reconstruct", tmp_path / "full.npz", "--out", tmp_path / "full.tif").exit_code == 0
    whole, codes, _ = read_channels(tmp_path / "full.tif")
    assert codes == ["F", "C"] and whole.shape == (2, 61, 59)
    # patches of the same image agree with it away from the borders
    assert run("predict", odd, tmp_path / "p.npz", "--model", trained, "--config",
               tiny_config).exit_code == 0  # fmt: skip
    assert run("reconstruct", tmp_path / "p.npz", "--out", tmp_path / "p.tif").exit_code == 0
    patched, _, _ = read_channels(tmp_path / "p.tif")
    inner = (slice(None), slice(12, -12), slice(12, -12))
    assert np.abs(whole[inner] - patched[inner]).mean() < 0.05


def test_stack_makes_one_volume_of_2d_channel_maps_or_labels(run, dataset, tmp_path, mask2d):
    """TEST.ANALIZE_2D_IMGS_AS_3D_STACK's first step (issue 16), and its errors."""
    from stages.channels import encode_channels
    from stages.io import read_labels, write_labels

    crops = [mask2d[:64, :64], mask2d[64:128, :64], mask2d[128:192, :64]]
    for index, labels in enumerate(crops):
        write_tiff(
            tmp_path / f"c{index}.tif",
            encode_channels(labels, ["F", "C"]),
            metadata={"channels": ["F", "C"], "channel_options": {"C": {"mode": "thick"}}},
            spacing=(0.5, 0.5),
        )
        write_labels(tmp_path / f"l{index}.tif", labels)
    channels = [tmp_path / f"c{i}.tif" for i in range(3)]
    result = run("stack", *channels, "--out", tmp_path / "stack.tif")
    assert result.exit_code == 0, result.output
    stacked, planes, info = read_channels(tmp_path / "stack.tif")
    assert planes == ["F", "C"] and stacked.shape == (2, 3, 64, 64)
    assert info.spacing == (1.0, 0.5, 0.5)
    assert info.metadata["channel_options"] == {"C": {"mode": "thick"}}
    np.testing.assert_array_equal(stacked[:, 1], encode_channels(crops[1], ["F", "C"]))
    labels = [tmp_path / f"l{i}.tif" for i in range(3)]
    assert run("stack", *labels, "--out", tmp_path / "truth.tif").exit_code == 0
    np.testing.assert_array_equal(read_labels(tmp_path / "truth.tif", 3)[0], np.stack(crops))
    write_labels(tmp_path / "small.tif", mask2d[:32, :32])
    result = run("stack", *labels, tmp_path / "small.tif", "--out", tmp_path / "bad.tif")
    assert result.exit_code == 1 and "small.tif: shape (32, 32) differs from" in result.output
    assert not (tmp_path / "bad.tif").exists()
    write_labels(tmp_path / "classed.tif", crops[0], classes=(crops[0] > 0).astype(np.uint8))
    result = run("stack", *labels, tmp_path / "classed.tif", "--out", tmp_path / "bad.tif")
    assert result.exit_code == 1 and "classed.tif: a class channel, but" in result.output
    assert not (tmp_path / "bad.tif").exists()
