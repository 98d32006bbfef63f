import numpy as np
import pandas as pd
import pytest
import torch

from stages.channels import encode_channels
from stages.commands.train import settings_from_config
from stages.config import resolve_config
from stages.nn.data import Sample
from stages.nn.model import load_model
from stages.nn.train import train_model


def _config(epochs: int, **train):
    config, _ = resolve_config(
        {
            "PROBLEM": {"INSTANCE_SEG": {"DATA_CHANNELS": ["F", "C", "Db"]}},
            "DATA": {"PATCH_SIZE": [32, 32, 1], "TRAIN": {"REPLICATE": 1}},
            "MODEL": {"FEATURE_MAPS": [4, 8], "NORMALIZATION": "bn"},
            "TRAIN": {
                "EPOCHS": epochs,
                "BATCH_SIZE": 4,
                "LR": 1e-3,
                "LR_SCHEDULER": {"NAME": "warmupcosine", "WARMUP_COSINE_DECAY_EPOCHS": 1},
                **train,
            },
        }
    )
    return config


def _samples(mask2d, img2d):
    labels = mask2d[:96, :96]
    image = ((img2d[:96, :96] - img2d.mean()) / img2d.std()).astype(np.float32)[np.newaxis]
    return [
        Sample(
            image=image, targets=encode_channels(labels, ["F", "C", "Db"]), foreground=labels > 0
        )
    ]


def _train(tmp_path, config, samples, seed=0):
    settings = settings_from_config(config)
    return train_model(
        samples,
        None,
        settings.loop,
        model_dir=tmp_path / "model",
        log_csv=tmp_path / "log.csv",
        chart_png=tmp_path / "loss.png",
        names=["a"],
        normalization=settings.normalization,
        seed=seed,
        progress=False,
    )


def test_training_writes_a_complete_model_folder(tmp_path, mask2d, img2d):
    torch.set_num_threads(1)
    result = _train(tmp_path, _config(2), _samples(mask2d, img2d))
    assert result.epochs == 2 and result.resumed_from == 0
    log = pd.read_csv(tmp_path / "log.csv")
    assert list(log["epoch"]) == [1, 2] and {
        "train_loss",
        "val_loss",
        "lr",
        "val_loss_F",
        "val_loss_Db",
    } <= set(log.columns)
    assert log["train_loss"].iloc[1] < log["train_loss"].iloc[0]
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"
    model, meta = load_model(tmp_path / "model" / "model.pt")
    assert meta["channels"] == ["F", "C", "Db"] and meta["activations"] == [
        "sigmoid",
        "sigmoid",
        "sigmoid",
    ]
    assert meta["normalization"]["type"] == "zero_mean_unit_variance"
    assert (tmp_path / "model" / "normalization.json").exists() and (
        tmp_path / "model" / "model_last.pt"
    ).exists()


def test_a_killed_run_resumes_and_ends_as_an_uninterrupted_one(
    tmp_path, mask2d, img2d, monkeypatch
):
    torch.set_num_threads(1)
    samples = _samples(mask2d, img2d)
    straight = _train(tmp_path / "straight", _config(3), samples)

    import stages.nn.train as train_module

    original = train_module.log.info

    def killed_after_epoch_two(message, *args):
        original(message, *args)
        if message.startswith("epoch") and args[0] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(train_module.log, "info", killed_after_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path / "killed", _config(3), samples)
    monkeypatch.setattr(train_module.log, "info", original)
    assert not (tmp_path / "killed" / "model" / "model.pt").exists()
    resumed = _train(tmp_path / "killed", _config(3), samples)
    assert resumed.resumed_from == 2 and resumed.epochs == 3
    straight_log, resumed_log = (
        pd.read_csv(tmp_path / "straight" / "log.csv"),
        pd.read_csv(tmp_path / "killed" / "log.csv"),
    )
    np.testing.assert_allclose(resumed_log["train_loss"], straight_log["train_loss"], rtol=1e-5)
    np.testing.assert_allclose(resumed_log["val_loss"], straight_log["val_loss"], rtol=1e-5)
    assert resumed.best_val_loss == pytest.approx(straight.best_val_loss, rel=1e-5)
    # another config does not resume from that state
    other = _train(tmp_path / "killed", _config(4), samples)
    assert other.resumed_from == 0


def test_load_model_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pt does not exist"):
        load_model(tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"junk")
    with pytest.raises(ValueError, match="bad.pt is not a segpipe model"):
        load_model(bad)
