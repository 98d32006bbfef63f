"""What BiaPy's augmentations cost per training step, against the step itself, on the demo.

The demo configs (config/config.yaml in 2D, config/examples/3d.yaml in 3D) train on the
stardist sample. Three sets of augmentations, each at BiaPy's default probability of 0.5:

- template: what BiaPy's instance segmentation templates switch on (RANDOM_ROT);
- common:   random rotation, zoom, elastic, Gaussian blur, brightness, contrast, gamma;
- every:    every augmentation segpipe has.

For each: the augmentation of a batch alone (in torch on the training device, labels moved
and channels encoded again on the CPU), against a bare step (one batch drawn with the flips
the sampler does anyway, forward, backward, optimiser step); and segpipe's own training step
with the set, against the same loop without it (what the set adds to a step: on a GPU the
next batch is drawn and augmented while the step runs, stages/nn/prefetch.py).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_augment.py [--steps 20] [--device cuda]
        [--variants]
    PYTHONPATH=. .venv/bin/python benchmarks/bench_augment.py --simulate-step 12 [--workers 1]

``--variants``: segpipe's step with batches drawn in turn, in a thread (segpipe's 0.1 ms thread
switch interval) and made by 2 or 8 worker processes, besides segpipe's default
(SYSTEM.NUM_WORKERS -1: on a GPU one worker per core beyond the first, at most 8).

``--simulate-step MS``: without a GPU, what making the batches adds to a step that holds the
training process's core and interpreter for MS milliseconds, as the H200's launch-bound demo
step does (12 ms): made in turn, and by worker processes on the other cores.

Prints one Markdown row per (demo, set).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import time
from pathlib import Path

import numpy as np
import torch

import stages.nn.train
from stages.commands.train import settings_from_config
from stages.config import load_config
from stages.demo import read_stardist_sample
from stages.nn.augment.batch import augment_patches
from stages.nn.augment.settings import FLIPS_AND_TURNS, NAMES, AugmentSettings
from stages.nn.batch_workers import BatchMaker, BatchWorkers, recipe_drawer, recipe_stream
from stages.nn.data import PatchSampler, Sample, pad_to_patch
from stages.nn.layout import channel_layout
from stages.nn.losses import code_losses
from stages.nn.model import build_model
from stages.nn.normalization import normalize_image
from stages.nn.prefetch import draws_ahead, prefetched
from stages.nn.train import train_network

ROOT = Path(__file__).resolve().parents[1]
SETS = {
    "template": ("random_rot",),
    "common": ("random_rot", "zoom", "elastic", "g_blur", "brightness", "contrast",
               "gamma_contrast"),
    "every": tuple(n for n in NAMES if n not in FLIPS_AND_TURNS),
}  # fmt: skip
DEMOS = {
    "2D": ("config/config.yaml", "stardist2d"),
    "3D": ("config/examples/3d.yaml", "stardist3d"),
}


def _setup(config_path: str, sample: str):
    config, _ = load_config(ROOT / config_path)
    settings = settings_from_config(config)
    loop = settings.loop
    layout = channel_layout(list(loop.codes), loop.channel_options, loop.model.ndim)
    image, labels = read_stardist_sample(sample)
    labels = labels.astype(np.int64)
    normalized = normalize_image(image[..., np.newaxis], settings.normalization)
    patch = tuple(loop.patch)
    padded_labels = pad_to_patch(labels[np.newaxis], patch)[0]
    samples = [
        Sample(
            image=pad_to_patch(np.moveaxis(normalized, -1, 0), patch),
            targets=pad_to_patch(layout.training_targets(labels), patch),
            foreground=padded_labels > 0,
            labels=padded_labels,
        )
    ]
    return loop, layout, samples


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _step_seconds(loop, layout, sampler, network, optimizer, steps: int, device) -> float:
    network.train()
    times = []
    for _ in range(steps + 2):
        started = time.perf_counter()
        batch = sampler.batch(
            loop.batch_size,
            loop.augment,
            layout.planes,
            layout.training_targets if layout.reencode else None,
        )
        images, targets, foreground = (
            torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(device)
            for a in (batch.images, batch.targets, batch.foreground)
        )
        loss = code_losses(network(images), targets, foreground, layout).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        _synchronize(device)
        times.append(time.perf_counter() - started)
    return float(np.median(times[2:]))


def _augment_seconds(loop, layout, sampler, names, steps: int, device) -> float:
    settings = AugmentSettings(probabilities={name: 0.5 for name in names})
    times = []
    for step in range(steps + 2):
        batch = sampler.batch(loop.batch_size, None, layout.planes)
        started = time.perf_counter()
        augment_patches(batch, settings, layout.training_targets, step, device)
        _synchronize(device)
        times.append(time.perf_counter() - started)
    return float(np.median(times[2:]))


#: how the next batch is drawn: segpipe's default (SYSTEM.NUM_WORKERS -1), and the
#: alternatives ``--variants`` adds: (thread or not, None: segpipe's rule; its options;
#: worker processes)
VARIANTS = {
    "default": (None, {}, -1),
    "in turn": (False, {}, 0),
    "thread, 0.1 ms switch": (True, {}, 0),
    "2 workers": (False, {}, 2),
    "8 workers": (False, {}, 8),
}


def _loop_step_seconds(loop, samples, augment, steps: int, variant) -> float:
    """segpipe's training step with ``augment``, over its second epoch (the first warms up)."""
    ahead, options, workers = variant
    stages.nn.train.draws_ahead = draws_ahead if ahead is None else (lambda *_: ahead)
    stages.nn.train.prefetched = functools.partial(prefetched, **options)
    loop = dataclasses.replace(
        loop,
        augment=augment,
        epochs=2,
        steps_per_epoch=steps,
        scheduler="",
        patience=None,
        workers=workers,
    )
    # validated on the training sample itself: the 3D sample holds too few patches to split
    return train_network(samples, samples, loop, progress=False).history[1]["step_seconds"]


def _with_set(loop, names) -> AugmentSettings:
    """The demo's augmentation with ``names`` switched on too, at BiaPy's probability 0.5."""
    return dataclasses.replace(
        loop.augment, probabilities={**loop.augment.probabilities, **{n: 0.5 for n in names}}
    )


def _busy(seconds: float) -> None:
    """Hold this process's core and interpreter, as a GPU step's kernel launches do."""
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass


def _simulated_added_seconds(loop, layout, samples, augment, steps: int, workers: int, busy):
    """What making batches adds to a step that keeps the training process busy for ``busy``
    seconds (a launch-bound GPU step), in turn or by ``workers`` processes (the second
    epoch's steps, whose first batches are made while the first epoch ends)."""
    maker = BatchMaker.for_layout(samples, augment, layout)
    sampler = PatchSampler(samples, loop.patch, [[]], np.random.default_rng(0))
    draw = recipe_drawer(sampler, loop.batch_size, augment, layout.planes, layout.reencode)
    recipes = recipe_stream(sampler, draw, steps, range(2), {})
    cpu = torch.device("cpu")
    values = maker.batch_values(loop.batch_size, loop.patch)
    made = BatchWorkers(maker, recipes, 2 * steps, workers, cpu, values) if workers else None
    try:
        for _ in range(2):
            started = time.perf_counter()
            for _ in made.take(steps) if made else range(steps):
                if made is None:
                    maker.make(next(recipes), cpu)
                _busy(busy)
        return (time.perf_counter() - started) / steps - busy
    finally:
        if made is not None:
            made.close()


def simulated_table(steps: int, busy_ms: float, workers: int) -> None:
    """The table of ``--simulate-step``."""
    torch.set_num_threads(1)
    print(
        f"| demo | set | made in turn: added to a {busy_ms:g} ms busy step | made by {workers} "
        "worker(s): added |"
    )
    print("|---|---|---|---|")
    for demo, (config_path, sample) in DEMOS.items():
        loop, layout, samples = _setup(config_path, sample)
        for name, names in SETS.items():
            augment = _with_set(loop, names)
            added = [
                _simulated_added_seconds(
                    loop, layout, samples, augment, steps, n, busy_ms / 1e3
                ) * 1e3
                for n in (0, workers)
            ]  # fmt: skip
            print(
                f"| {demo} | {name} | {added[0]:.2f} ms ({added[0] / busy_ms:+.1%}) | "
                f"{added[1]:.2f} ms ({added[1] / busy_ms:+.1%}) |",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--device", default="cpu", help="where the step and augmentation run")
    parser.add_argument("--variants", action="store_true", help="other ways to draw batches")
    parser.add_argument(
        "--simulate-step",
        type=float,
        metavar="MS",
        help="instead: what making batches adds to a step that keeps the training process busy "
        "MS milliseconds (a GPU step, without a GPU), in turn and by --workers processes",
    )
    parser.add_argument("--workers", type=int, default=1, help="with --simulate-step")
    args = parser.parse_args()
    if args.simulate_step:
        simulated_table(args.steps, args.simulate_step, args.workers)
        return
    variants = list(VARIANTS) if args.variants else ["default"]
    device = torch.device(args.device)
    torch.manual_seed(0)
    print(
        "| demo | patch x batch | bare step (ms) | set | augmentation alone (ms) | share of the "
        "bare step | batches drawn | segpipe's step without (ms) | with (ms) | added to the step |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for demo, (config_path, sample) in DEMOS.items():
        loop, layout, samples = _setup(config_path, sample)
        sampler = PatchSampler(samples, loop.patch, [[]], np.random.default_rng(0))
        network = build_model(loop.model).to(device)
        optimizer = torch.optim.AdamW(network.parameters(), lr=1e-4)
        step = _step_seconds(loop, layout, sampler, network, optimizer, args.steps, device)
        without = {
            v: _loop_step_seconds(loop, samples, loop.augment, args.steps, VARIANTS[v])
            for v in variants
        }
        for name, names in SETS.items():
            augment = _augment_seconds(loop, layout, sampler, names, args.steps, device)
            chosen = _with_set(loop, names)
            for variant in variants:
                with_set = _loop_step_seconds(loop, samples, chosen, args.steps, VARIANTS[variant])
                base = without[variant]
                shape = "x".join(str(s) for s in loop.patch)
                print(
                    f"| {demo} | {shape} x {loop.batch_size} | {step * 1e3:.0f} | {name} | "
                    f"{augment * 1e3:.1f} | {augment / step:.1%} | {variant} | {base * 1e3:.1f} "
                    f"| {with_set * 1e3:.1f} | {(with_set - base) / base:+.1%} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
