import dataclasses
import multiprocessing
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import stages.nn.batch_workers
import stages.nn.train
from stages.commands.train import settings_from_config
from stages.config import resolve_config
from stages.nn.augment.settings import AugmentSettings
from stages.nn.batch_workers import (
    AUTOMATIC_WORKERS_CAP,
    BatchMaker,
    BatchWorkers,
    recipe_drawer,
    recipe_stream,
    worker_count,
)
from stages.nn.data import PatchSampler, Sample
from stages.nn.layout import channel_layout
from stages.nn.train import train_network

from .test_train import _config, _samples, _train, augmented_training

CPU = torch.device("cpu")
CUDA = torch.device("cuda", 0)


def _real_2d(mask2d, img2d, codes):
    """Two crops of the real 2D sample with their labels and channels (``codes``)."""
    layout = channel_layout(list(codes), {}, 2)
    samples = []
    for box in (np.s_[:160, :160], np.s_[200:330, 250:400]):
        labels = mask2d[box].astype(np.int64)
        image = img2d[box][..., np.newaxis].astype(np.float32)
        image = (image - image.mean()) / image.std()
        samples.append(
            Sample(
                image=np.ascontiguousarray(np.moveaxis(image, -1, 0), dtype=np.float32),
                targets=layout.training_targets(labels),
                foreground=labels > 0,
                labels=labels,
            )
        )
    return samples, layout


def _recipes(sampler, augment, layout, size):
    return recipe_drawer(sampler, size, augment, layout.planes, layout.reencode)


def _one_worker(samples, layout, augment, encode, size, count, seed=0):
    """A worker making ``count`` batches of ``size`` 64x64 patches, encoded by ``encode``."""
    maker = BatchMaker(samples, augment, layout.planes, None, encode)
    sampler = PatchSampler(samples, (64, 64), [[], []], np.random.default_rng(seed))
    stream = recipe_stream(sampler, _recipes(sampler, augment, layout, size), count, range(1), {})
    return maker, BatchWorkers(maker, stream, count, 1, CPU, maker.batch_values(size, (64, 64)))


@pytest.mark.parametrize("codes", [("B", "C"), ("R", "P")])
def test_batches_made_by_workers_equal_those_made_in_turn(mask2d, img2d, codes):
    """Two epochs of augmented batches from two forked workers are, to the bit, the batches
    made in the training process: the random choices are drawn there, in order. With the
    StarDist codes the workers run numba's parallel ray marching after the training process
    has (GNU OpenMP, numba's usual layer, would end a forked worker there)."""
    samples, layout = _real_2d(mask2d, img2d, codes)
    augment = AugmentSettings(
        probabilities={
            "hflip": 0.5,
            "rot90": 0.5,
            "random_rot": 0.5,
            "elastic": 0.5,
            "gaussian_noise": 0.5,
            "cutmix": 0.5,
            "brightness": 0.5,
        }
    )
    maker = BatchMaker(samples, augment, layout.planes, None, layout.training_targets)
    in_turn_sampler = PatchSampler(samples, (64, 64), [[], []], np.random.default_rng(3))
    draw_in_turn = _recipes(in_turn_sampler, augment, layout, 4)
    sampler = PatchSampler(samples, (64, 64), [[], []], np.random.default_rng(3))
    states = {}
    stream = recipe_stream(sampler, _recipes(sampler, augment, layout, 4), 5, range(2), states)
    workers = BatchWorkers(maker, stream, 10, 2, CPU, maker.batch_values(4, (64, 64)))
    try:
        for epoch in range(2):
            made = list(workers.take(5))
            assert len(made) == 5
            for batch in made:
                expected = maker.make(draw_in_turn(), CPU)
                for tensor, wanted in zip(batch, expected):
                    assert tensor.dtype == torch.float32
                    torch.testing.assert_close(tensor, wanted, rtol=0, atol=0)
            # the random state after the epoch's last recipe is kept for a resumed run
            assert states[epoch] == in_turn_sampler.rng.bit_generator.state
    finally:
        workers.close()
    assert multiprocessing.active_children() == []


def test_the_recipe_stream_reseeds_each_epoch_and_keeps_the_state_after_it(mask2d, img2d):
    samples, layout = _real_2d(mask2d, img2d, ("B", "C"))
    sampler = PatchSampler(samples, (64, 64), [[], []], np.random.default_rng(0))
    draw = _recipes(sampler, None, layout, 2)

    def reseed(epoch):
        sampler.rng = np.random.default_rng([9, epoch])

    states = {}
    stream = recipe_stream(sampler, draw, 3, range(1, 3), states, reseed)
    first = [next(stream) for _ in range(3)]
    assert list(states) == [1]  # known before the epoch's last recipe is used
    second = list(stream)
    assert len(second) == 3 and list(states) == [1, 2]
    assert all(r.augment_seed is None for r in first + second)  # no augmentation in torch
    sampler.rng = np.random.default_rng([9, 2])
    assert second == [draw() for _ in range(3)]
    assert states[2] == sampler.rng.bit_generator.state


def test_a_failure_in_a_worker_is_raised_in_the_training_process(mask2d, img2d):
    samples, layout = _real_2d(mask2d, img2d, ("B", "C"))

    def broken_encoder(labels):
        raise ValueError("the labels could not be encoded")

    augment = AugmentSettings(probabilities={"random_rot": 1.0})
    _, workers = _one_worker(samples, layout, augment, broken_encoder, 2, 3)
    try:
        with pytest.raises(ValueError, match="the labels could not be encoded"):
            list(workers.take(3))
    finally:
        workers.close()
    assert multiprocessing.active_children() == []


def _dies(labels):
    os._exit(3)  # as a worker killed for its memory


def test_a_worker_that_dies_is_named_instead_of_waited_for(mask2d, img2d):
    samples, layout = _real_2d(mask2d, img2d, ("B", "C"))
    augment = AugmentSettings(probabilities={"random_rot": 1.0})
    _, workers = _one_worker(samples, layout, augment, _dies, 2, 3)
    try:
        with pytest.raises(RuntimeError, match=r"worker ended unexpectedly \(exit code 3\)"):
            list(workers.take(3))
    finally:
        workers.close()
    assert multiprocessing.active_children() == []


def test_training_with_batches_made_by_workers_equals_training_in_turn(mask2d, img2d):
    settings, samples = augmented_training(mask2d, img2d)
    # BiaPy's default: in turn on the CPU; with CUDA (gpu_checks.sh) automatic workers, as the
    # GPU's own augmentation would not equal the CPU's to the bit
    assert settings.workers == -1
    in_turn = train_network(samples, None, settings, progress=False)
    by_workers = train_network(
        samples, None, dataclasses.replace(settings, workers=2), progress=False
    )
    assert multiprocessing.active_children() == []
    assert [r["train_loss"] for r in by_workers.history] == [
        r["train_loss"] for r in in_turn.history
    ]
    for name, weight in in_turn.last_weights.items():
        torch.testing.assert_close(by_workers.last_weights[name], weight, rtol=0, atol=0)


def test_the_workers_end_when_training_fails(mask2d, img2d, monkeypatch):
    config, _ = resolve_config({**_config(1), "AUGMENTOR": {"ENABLE": True, "RANDOM_ROT": True}})
    settings = dataclasses.replace(settings_from_config(config).loop, workers=1)
    samples = _samples(mask2d, img2d)
    samples[0].labels = mask2d[:96, :96].astype(np.int64)

    def failing(*args, **kwargs):
        raise RuntimeError("the step failed")

    monkeypatch.setattr(stages.nn.train, "code_losses", failing)
    with pytest.raises(RuntimeError, match="the step failed"):
        train_network(samples, None, settings, progress=False)
    assert multiprocessing.active_children() == []


def test_how_many_workers():
    assert worker_count(3, CPU) == 3 and worker_count(0, CUDA) == 0
    # automatic: none on the CPU; on a GPU the job's CPUs but one, at most the cap
    assert worker_count(-1, CPU, cpus=16) == 0
    assert worker_count(-1, CUDA, cpus=4) == 3
    assert worker_count(-1, CUDA, cpus=1) == 0
    assert worker_count(-1, CUDA, cpus=64) == AUTOMATIC_WORKERS_CAP
    # large batches: as many workers as their slots fit in the budget, at least one
    slots = (
        stages.nn.batch_workers.AUTOMATIC_SLOTS_BYTES // stages.nn.batch_workers.SLOTS_PER_WORKER
    )
    assert worker_count(-1, CUDA, cpus=64, batch_bytes=slots // 3) == 3
    assert worker_count(-1, CUDA, cpus=64, batch_bytes=slots * 2) == 1
    assert worker_count(-1, CUDA, cpus=1, batch_bytes=slots * 2) == 0
    assert worker_count(5, CUDA, cpus=64, batch_bytes=slots * 2) == 5  # asked for: as asked
    if hasattr(os, "sched_getaffinity"):
        cpus = len(os.sched_getaffinity(0))
        assert worker_count(-1, CUDA) == max(0, min(AUTOMATIC_WORKERS_CAP, cpus - 1))


def test_the_config_key_sets_the_workers():
    config, warnings = resolve_config({"SYSTEM": {"NUM_WORKERS": 4}})
    assert settings_from_config(config).loop.workers == 4
    assert not any("NUM_WORKERS" in w for w in warnings)
    with pytest.raises(ValueError, match="NUM_WORKERS"):
        resolve_config({"SYSTEM": {"NUM_WORKERS": -2}})


def test_workers_fork_on_linux_unless_numba_ran_on_openmp(monkeypatch):
    import numba

    if os.uname().sysname == "Linux":
        assert stages.nn.batch_workers._start_method() == "fork"
    # a user's NUMBA_THREADING_LAYER=omp: a forked worker would hang in the encoders' kernels
    monkeypatch.setattr(numba.config, "THREADING_LAYER", "omp")
    assert stages.nn.batch_workers._start_method() == "spawn"


def test_a_killed_run_with_workers_resumes_as_an_uninterrupted_one(
    tmp_path, mask2d, img2d, interrupt_after_epoch
):
    """The workers make the next epoch's first batches while an epoch is validated and saved:
    the saved random state is still the one after the epoch's own batches."""
    torch.set_num_threads(1)
    samples = _samples(mask2d, img2d)
    samples[0].labels = mask2d[:96, :96].astype(np.int64)

    def config(workers):
        augmented = {"ENABLE": True, "RANDOM_ROT": True, "ELASTIC": True}
        return resolve_config(
            {**_config(3), "AUGMENTOR": augmented, "SYSTEM": {"NUM_WORKERS": workers}}
        )[0]

    # workers in both (with CUDA, in turn would augment on the GPU: other noise)
    _train(tmp_path / "straight", config(2), samples)
    interrupt_after_epoch(2)
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path / "killed", config(2), samples)
    interrupt_after_epoch(None)
    assert multiprocessing.active_children() == []
    resumed = _train(tmp_path / "killed", config(2), samples)
    assert resumed.resumed_from == 2 and resumed.epochs == 3
    straight_log, resumed_log = (
        pd.read_csv(tmp_path / "straight" / "log.csv"),
        pd.read_csv(tmp_path / "killed" / "log.csv"),
    )
    np.testing.assert_array_equal(resumed_log["train_loss"], straight_log["train_loss"])
    np.testing.assert_array_equal(resumed_log["val_loss"], straight_log["val_loss"])


def test_spawned_workers_make_the_same_batches(mask2d, img2d, monkeypatch):
    """Where processes cannot be forked (macOS, Windows) the workers are spawned and get the
    images pickled: the same batches."""
    monkeypatch.setattr(stages.nn.batch_workers, "_start_method", lambda: "spawn")
    samples, layout = _real_2d(mask2d, img2d, ("B", "C"))
    augment = AugmentSettings(probabilities={"random_rot": 0.5, "cutmix": 0.5})
    maker, workers = _one_worker(samples, layout, augment, layout.training_targets, 3, 4, seed=5)
    in_turn = PatchSampler(samples, (64, 64), [[], []], np.random.default_rng(5))
    draw_in_turn = _recipes(in_turn, augment, layout, 3)
    try:
        for batch in workers.take(4):
            for tensor, wanted in zip(batch, maker.make(draw_in_turn(), CPU)):
                torch.testing.assert_close(tensor, wanted, rtol=0, atol=0)
    finally:
        workers.close()


ORPHAN_SCRIPT = """
import os, sys
import numpy as np, torch
from stages.nn.batch_workers import BatchMaker, BatchRecipe, BatchWorkers
from stages.nn.data import PatchPlan, Sample

planes = np.zeros((1, 8, 8), np.float32)
sample = Sample(planes, planes, np.zeros((8, 8), bool))
maker = BatchMaker([sample], None, ["F"], None, None)
recipes = iter([BatchRecipe((PatchPlan(0, (slice(0, 8), slice(0, 8))),))] * 100)
workers = BatchWorkers(maker, recipes, 100, 1, torch.device("cpu"), maker.batch_values(1, (8, 8)))
next(workers.batches)
print(workers.processes[0].pid, flush=True)
os._exit(0)  # killed: no close, no exit handlers
"""


def test_workers_leave_when_the_training_process_is_killed(tmp_path):
    import subprocess
    import sys
    import time

    script = tmp_path / "killed.py"
    script.write_text(ORPHAN_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True
    )
    worker = int(done.stdout.split()[-1])

    def running() -> bool:
        try:  # a process that ended but was not reaped yet (a zombie) counts as ended
            return Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 4 * stages.nn.batch_workers.LIVENESS_SECONDS
    while time.monotonic() < deadline and running():
        time.sleep(0.1)
    assert not running(), "the worker outlived the training process"


def test_batches_for_another_device_are_uploaded_in_one_piece(mask2d, img2d):
    """The GPU's path (an upload from the slot, not a clone), on torch's meta device: the
    batch's three tensors have their shapes there, each a view of one upload."""
    samples, layout = _real_2d(mask2d, img2d, ("B", "C"))
    augment = AugmentSettings(probabilities={"random_rot": 0.5})
    maker = BatchMaker(samples, augment, layout.planes, None, layout.training_targets)
    sampler = PatchSampler(samples, (64, 64), [[], []], np.random.default_rng(1))
    stream = recipe_stream(sampler, _recipes(sampler, augment, layout, 3), 2, range(1), {})
    meta = torch.device("meta")
    workers = BatchWorkers(maker, stream, 2, 1, meta, maker.batch_values(3, (64, 64)))
    try:
        for images, targets, foreground in workers.take(2):
            assert images.device.type == "meta" and images.shape == (3, 1, 64, 64)
            assert targets.shape == (3, len(layout.planes), 64, 64)
            assert foreground.shape == (3, 64, 64) and foreground.dtype == torch.float32
            assert images.untyped_storage().nbytes() == maker.batch_values(3, (64, 64)) * 4
    finally:
        workers.close()


def test_a_run_resumed_after_its_last_epoch_starts_no_workers(mask2d, img2d, monkeypatch):
    settings, samples = augmented_training(mask2d, img2d)
    settings = dataclasses.replace(settings, epochs=1, workers=0)
    states = []
    train_network(samples, None, settings, progress=False, on_epoch=lambda s, _: states.append(s))

    def started(*args, **kwargs):
        raise AssertionError("workers started with no batch to make")

    monkeypatch.setattr(stages.nn.train, "BatchWorkers", started)
    again = train_network(
        samples,
        None,
        dataclasses.replace(settings, workers=2),
        progress=False,
        resume=states[-1],
    )
    assert again.epochs == 1 and again.resumed_from == 1
