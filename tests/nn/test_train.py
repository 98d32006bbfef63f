import os
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from stages.channels import encode_channels
from stages.commands.train import settings_from_config
from stages.config import resolve_config
from stages.nn.checkpoints import files_digest
from stages.nn.data import Sample
from stages.nn.model import load_model
from stages.nn.run import train_in_folder
from stages.nn.train import train_network


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


def augmented_training(mask2d, img2d):
    """Two epochs' settings with rotation and blur on a crop of the real sample, whose labels
    are kept (rotated patches are encoded again); one torch thread."""
    torch.set_num_threads(1)
    config, _ = resolve_config(
        {**_config(2), "AUGMENTOR": {"ENABLE": True, "RANDOM_ROT": True, "G_BLUR": True}}
    )
    samples = _samples(mask2d, img2d)
    samples[0].labels = mask2d[:96, :96].astype(np.int64)
    return settings_from_config(config).loop, samples


def _train(tmp_path, config, samples, seed=0, inputs_digest="a"):
    settings = settings_from_config(config)
    return train_in_folder(
        samples,
        None,
        settings.loop,
        folder=tmp_path / "model",
        inputs_digest=inputs_digest,
        normalization=settings.normalization,
        seed=seed,
        log_csv=tmp_path / "log.csv",
        chart_png=tmp_path / "loss.png",
        progress=False,
    )


def test_the_loop_returns_history_and_weights_and_writes_nothing(
    tmp_path, mask2d, img2d, monkeypatch
):
    torch.set_num_threads(1)
    monkeypatch.chdir(tmp_path)
    settings = settings_from_config(_config(2)).loop
    saved = []
    outcome = train_network(
        _samples(mask2d, img2d),
        None,
        settings,
        on_epoch=lambda state, improved: saved.append((state.epoch, improved, state.best_epoch)),
        progress=False,
    )
    assert list(tmp_path.iterdir()) == []
    assert [row["epoch"] for row in outcome.history] == [1, 2]
    assert outcome.history[1]["train_loss"] < outcome.history[0]["train_loss"]
    best_row = min(outcome.history, key=lambda row: row["val_loss"])
    assert outcome.best_epoch == best_row["epoch"]
    assert outcome.best_val_loss == pytest.approx(best_row["val_loss"])
    assert [epoch for epoch, _, _ in saved] == [0, 1]
    assert saved[0][1] is True  # the first epoch is always the best so far
    # the weights are CPU copies that rebuild the network
    from stages.nn.model import build_model

    network = build_model(settings.model)
    network.load_state_dict(outcome.best_weights)
    assert all(t.device.type == "cpu" for t in outcome.last_weights.values())
    if outcome.best_epoch == 2:
        for name, tensor in outcome.best_weights.items():
            torch.testing.assert_close(tensor, outcome.last_weights[name])


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
    tmp_path, mask2d, img2d, interrupt_after_epoch
):
    torch.set_num_threads(1)
    samples = _samples(mask2d, img2d)
    straight = _train(tmp_path / "straight", _config(3), samples)

    interrupt_after_epoch(2)
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path / "killed", _config(3), samples)
    interrupt_after_epoch(None)
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


def test_changed_training_data_under_the_same_names_starts_over(tmp_path, mask2d, img2d, caplog):
    """The resume state is keyed on the files' contents, not their names (issue 13, item 2)."""
    torch.set_num_threads(1)
    raw, labels = tmp_path / "raw.tif", tmp_path / "labels.tif"
    raw.write_bytes(b"image v1")
    labels.write_bytes(b"labels v1")
    files = [("train raw", raw), ("train labels", labels)]
    samples = _samples(mask2d, img2d)
    first = _train(tmp_path, _config(2), samples, inputs_digest=files_digest(files))
    assert first.resumed_from == 0
    again = _train(tmp_path, _config(3), samples, inputs_digest=files_digest(files))
    assert again.resumed_from == 0  # another config (3 epochs): the settings changed
    rerun = _train(tmp_path, _config(3), samples, inputs_digest=files_digest(files))
    assert rerun.resumed_from == 3 and rerun.epochs == 3  # all done: nothing to train
    labels.write_bytes(b"labels v2")  # relabelled under the same name
    with caplog.at_level("INFO", logger="segpipe.train"):
        relabelled = _train(tmp_path, _config(3), samples, inputs_digest=files_digest(files))
    assert relabelled.resumed_from == 0 and relabelled.epochs == 3
    assert "the training data changed" in caplog.text


def test_load_model_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pt does not exist"):
        load_model(tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"junk")
    with pytest.raises(ValueError, match="bad.pt is not a segpipe model"):
        load_model(bad)


def test_a_biapy_checkpoint_is_named_as_one(tmp_path):
    """What BiaPy 3.7 writes (utils/misc.py save_model): its state dict, optimiser, epoch,
    config as a plain dict and version."""
    biapy = tmp_path / "my_model-checkpoint-best.pth"
    torch.save(
        {
            "model": {"down_path.0.conv.0.weight": torch.zeros(16, 1, 3, 3)},
            "optimizer": [{}],
            "epoch": 12,
            "cfg": {"MODEL": {"ARCHITECTURE": "resunet"}},
            "biapy_version": "3.7.1",
        },
        biapy,
    )
    with pytest.raises(ValueError) as raised:
        load_model(biapy)
    message = str(raised.value)
    assert "my_model-checkpoint-best.pth is a BiaPy checkpoint (BiaPy 3.7.1) (resunet)" in message
    assert "segpipe import-biapy" in message and "not a segpipe model" not in message


def test_a_diverging_loss_stops_training_with_one_clear_error(mask2d, img2d):
    torch.set_num_threads(1)
    (sample,) = _samples(mask2d, img2d)
    poisoned = Sample(
        image=np.full_like(sample.image, np.inf),
        targets=sample.targets,
        foreground=sample.foreground,
    )
    settings = settings_from_config(_config(1)).loop
    with pytest.raises(ValueError, match=r"training diverged: the loss is nan at epoch 1"):
        train_network([poisoned], None, settings, progress=False)


def test_steps_per_epoch_fixes_the_epoch_whatever_the_data(mask2d, img2d, caplog):
    """TRAIN.STEPS_PER_EPOCH: the same number of steps on a tile as on a large volume."""
    from dataclasses import replace

    torch.set_num_threads(1)
    settings = replace(settings_from_config(_config(1)).loop, steps_per_epoch=3)
    with caplog.at_level("INFO", logger="segpipe.train"):
        train_network(_samples(mask2d, img2d), None, settings, progress=False)
    assert "12 training patch(es) of (32, 32) per epoch in 3 step(s) of 4" in caplog.text


def test_images_of_one_patch_validate_on_it_and_say_so(mask2d, img2d, caplog):
    """One image holding one patch (BiaPy's 3D template on one small volume): nothing can be
    held out, so the loss of that patch is the validation loss, as BiaPy's overlapping crops
    make it; not an error."""
    torch.set_num_threads(1)
    sample = _samples(mask2d, img2d)[0]
    sample = Sample(
        sample.image[:, :40, :48], sample.targets[:, :40, :48], sample.foreground[:40, :48]
    )
    settings = settings_from_config(_config(1)).loop
    with caplog.at_level("WARNING", logger="segpipe.train"):
        outcome = train_network([sample], None, settings, progress=False)
    assert "hold one patch of DATA.PATCH_SIZE (32, 32): none can be held out" in caplog.text
    assert outcome.validation_cells == [[(0, 0)]]
    assert np.isfinite(outcome.history[0]["val_loss"])
    # cross-validation folds still need a cell each
    with pytest.raises(ValueError, match="too few to hold out validation"):
        train_network([sample], None, replace(settings, cross_val=(2, 1)), progress=False)


def test_bf16_autocast_trains_and_the_speed_keys_reach_the_loop(mask2d, img2d):
    torch.set_num_threads(1)
    settings = settings_from_config(_config(1, BF16=True)).loop
    assert settings.bf16 and not settings.compile
    outcome = train_network(_samples(mask2d, img2d), None, settings, progress=False)
    assert np.isfinite(outcome.history[0]["train_loss"]) and outcome.history[0]["step_seconds"] > 0
    config = _config(1)
    config["MODEL"]["COMPILE"] = True
    assert settings_from_config(config).loop.compile


def test_training_with_biapy_augmentations_moves_labels_and_stays_finite(tmp_path, mask2d, img2d):
    """Every augmentation at once: patches whose labels moved are encoded again."""
    torch.set_num_threads(1)
    every = {
        key: True
        for key in ("RANDOM_ROT", "ZOOM", "SHEAR", "SHIFT", "ELASTIC", "G_BLUR", "MEDIAN_BLUR",
                    "MOTION_BLUR", "GAMMA_CONTRAST", "BRIGHTNESS", "CONTRAST", "DROPOUT",
                    "CUTOUT", "CUTBLUR", "CUTMIX", "CUTNOISE", "MISALIGNMENT",
                    "MISSING_SECTIONS", "GRIDMASK", "GAUSSIAN_NOISE", "POISSON_NOISE", "SALT",
                    "PEPPER", "SALT_AND_PEPPER")
    }  # fmt: skip
    config, notes = resolve_config(
        {**_config(2), "AUGMENTOR": {"ENABLE": True, "DA_PROB": 0.5, **every}}
    )
    settings = settings_from_config(config).loop
    assert len(settings.augment.probabilities) == len(every) + 3  # with VFLIP, HFLIP, ROT90
    assert settings.augment.changes_labels
    labels = mask2d[:96, :96]
    samples = _samples(mask2d, img2d)
    samples[0].labels = labels.astype(np.int64)
    outcome = train_network(samples, None, settings, progress=False)
    assert all(np.isfinite(row["train_loss"]) for row in outcome.history)


def test_gradients_are_clipped_to_the_norm_asked_and_adam_takes_the_betas():
    from stages.nn.settings import ModelSpec, TrainSettings
    from stages.nn.train import _optimizer, apply_gradients

    torch.manual_seed(0)
    layer = torch.nn.Linear(8, 4)
    before = [p.detach().clone() for p in layer.parameters()]
    optimizer = torch.optim.SGD(layer.parameters(), lr=1.0)
    (layer(torch.randn(16, 8)) * 100).pow(2).sum().backward()
    norm = torch.sqrt(sum((p.grad**2).sum() for p in layer.parameters()))
    assert norm > 10
    apply_gradients(layer, optimizer, clip=0.5)
    moved = torch.sqrt(sum(((p - b) ** 2).sum() for p, b in zip(layer.parameters(), before)))
    assert moved.item() == pytest.approx(0.5, rel=1e-4)  # SGD: the step is lr x the gradient
    spec = ModelSpec(ndim=2, in_channels=1, out_channels=1)
    settings = TrainSettings(codes=("F",), channel_options={}, model=spec, patch=(8, 8),
                             betas=(0.8, 0.95))  # fmt: skip
    for name in ("ADAM", "ADAMW"):
        chosen = _optimizer(layer, TrainSettings(**{**settings.__dict__, "optimizer": name}))
        assert chosen.param_groups[0]["betas"] == (0.8, 0.95)
    config, _ = resolve_config({"TRAIN": {"OPT_BETAS": [[0.5, 0.9]], "GRADIENT_CLIP_NORM": 2.0}})
    loop = settings_from_config(config).loop
    assert (loop.betas, loop.gradient_clip) == ((0.5, 0.9), 2.0)


def test_training_on_cuda_fixes_the_cublas_workspace_for_deterministic_kernels(monkeypatch):
    """Without CUBLAS_WORKSPACE_CONFIG, deterministic algorithms cannot make cuBLAS so: set
    when a CUDA device is picked (before its first matrix product), a user's value kept."""
    from stages.nn.train import pick_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: "a stand-in GPU")
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    assert pick_device() == torch.device("cuda", 0)
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    pick_device()
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"


def test_part_weights_give_the_class_head_the_weight_after_the_codes():
    from stages.nn.train import part_weights

    assert part_weights([], 2, 2) == [1.0, 1.0]
    assert part_weights([0.5, 2], 2, 3) == [0.5, 2.0, 1.0]  # class head: 1
    assert part_weights([0.5, 2, 3], 2, 3) == [0.5, 2.0, 3.0]  # BiaPy's weight of the head
