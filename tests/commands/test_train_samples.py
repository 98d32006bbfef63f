"""Which samples segpipe train trains and validates on: FILTER_SAMPLES (whole images left out
with FILTER_BY_IMAGE, or patches drawn again; one clear error when nothing is left) and
cross-validation folds."""

import logging

import yaml


def _config(tiny_config, tmp_path, name: str, by_image: bool, props, values, signs, **train):
    config = yaml.safe_load(tiny_config.read_text())
    config["DATA"]["FILTER_BY_IMAGE"] = by_image
    config["DATA"]["TRAIN"].update(train)
    config["DATA"]["TRAIN"]["FILTER_SAMPLES"] = {
        "ENABLE": True, "PROPS": props, "VALUES": values, "SIGNS": signs,
    }  # fmt: skip
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _train(run, dataset, out, config):
    return run("train", "--raw", dataset / "train/raw", "--label", dataset / "train/label",
               "--out", out, "--threads", "1", "--no-progress", "--config", config)  # fmt: skip


def test_whole_images_are_left_out_by_their_raw_values(run, dataset, tiny_config, tmp_path, caplog):
    """img-0's raw maximum is 195, img-1's 210: 'max gt 200' leaves img-1 out."""
    config = _config(tiny_config, tmp_path, "max", True, [["max"]], [[200]], [["gt"]])
    with caplog.at_level(logging.INFO, logger="segpipe"):
        result = _train(run, dataset, tmp_path / "model", config)
    assert result.exit_code == 0, result.output
    assert "img-1.tif: left out by DATA.TRAIN.FILTER_SAMPLES" in caplog.text
    assert "img-0.tif: left out" not in caplog.text
    assert (tmp_path / "model" / "model.pt").is_file()
    everything = _config(tiny_config, tmp_path, "all", True, [["max"]], [[100]], [["gt"]])
    result = _train(run, dataset, tmp_path / "none", everything)
    assert result.exit_code != 0
    assert "DATA.TRAIN.FILTER_SAMPLES leaves out every image" in result.output
    assert not (tmp_path / "none" / "model.pt").exists()


def test_patches_are_drawn_again_and_images_on_disk_are_filtered_by_patch_only(
    run, dataset, tiny_config, tmp_path
):
    config = _config(tiny_config, tmp_path, "fg", False, [["foreground"]], [[0.05]], [["lt"]])
    result = _train(run, dataset, tmp_path / "model", config)
    assert result.exit_code == 0, result.output
    never = _config(tiny_config, tmp_path, "never", False, [["target_min"]], [[0]], [["ge"]])
    result = _train(run, dataset, tmp_path / "never", never)
    assert result.exit_code != 0 and "left out all of 1000 patches" in result.output
    lazy = _config(tiny_config, tmp_path, "lazy", True, [["mean"]], [[0]], [["lt"]],
                   IN_MEMORY=False)  # fmt: skip
    result = _train(run, dataset, tmp_path / "lazy", lazy)
    assert result.exit_code != 0 and "images read from disk are filtered patch by patch" in (
        result.output
    )


def test_validation_cells_held_out_of_training_images_are_filtered(
    run, dataset, tiny_config, tmp_path
):
    config = yaml.safe_load(tiny_config.read_text())
    config["DATA"]["VAL"] = {"FILTER_SAMPLES": {
        "ENABLE": True, "PROPS": [["min"]], "VALUES": [[0]], "SIGNS": [["ge"]]}}  # fmt: skip
    path = tmp_path / "val.yaml"
    path.write_text(yaml.safe_dump(config))
    result = _train(run, dataset, tmp_path / "model", path)
    assert result.exit_code != 0
    assert "DATA.VAL.FILTER_SAMPLES leaves out every validation patch" in result.output


def test_cross_validation_holds_out_the_chosen_fold(run, dataset, tiny_config, tmp_path):
    import json

    records = []
    for fold in (1, 3):
        config = yaml.safe_load(tiny_config.read_text())
        config["DATA"]["VAL"] = {"CROSS_VAL": True, "CROSS_VAL_NFOLD": 3, "CROSS_VAL_FOLD": fold}
        path = tmp_path / f"fold{fold}.yaml"
        path.write_text(yaml.safe_dump(config))
        result = _train(run, dataset, tmp_path / f"model{fold}", path)
        assert result.exit_code == 0, result.output
        records.append(json.loads((tmp_path / f"model{fold}" / "validation.json").read_text()))
    assert records[0] != records[1]
    config["DATA"]["VAL"] = {"CROSS_VAL": True, "CROSS_VAL_NFOLD": 3, "CROSS_VAL_FOLD": 4}
    path.write_text(yaml.safe_dump(config))
    result = _train(run, dataset, tmp_path / "bad", path)
    assert result.exit_code != 0 and "DATA.VAL.CROSS_VAL_FOLD 4 is past the 3 folds" in (
        result.output
    )


def test_patches_centred_by_the_probability_map_train_and_change_what_is_learnt(
    run, dataset, tiny_config, tmp_path
):
    """DATA.TRAIN.PROBABILITY_MAP reaches the sampler: the same seed gives other patches, so
    other losses, than uniform draws; without the map, training is as before."""
    import pandas as pd

    losses = {}
    for name, train in (
        ("uniform", {}),
        ("map", {"PROBABILITY_MAP": True, "W_FOREGROUND": 1.0, "W_BACKGROUND": 0.0}),
    ):
        config = yaml.safe_load(tiny_config.read_text())
        config["DATA"]["TRAIN"].update(train)
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config))
        result = run("train", "--raw", dataset / "train/raw", "--label", dataset / "train/label",
                     "--out", tmp_path / name, "--log-csv", tmp_path / f"{name}.csv",
                     "--threads", "1", "--no-progress", "--config", path)  # fmt: skip
        assert result.exit_code == 0, result.output
        losses[name] = pd.read_csv(tmp_path / f"{name}.csv")["train_loss"].tolist()
    assert losses["map"] != losses["uniform"]
