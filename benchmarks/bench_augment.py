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

``--variants``: segpipe's step drawn in turn, and in a thread with Python's default thread
switch interval (5 ms) and shorter ones, besides segpipe's default.

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


#: how the next batch is drawn: segpipe's default, and the alternatives ``--variants`` adds
VARIANTS = {
    "default": (None, {}),
    "in turn": (False, {}),
    "thread, 5 ms switch": (True, {"switch_interval": 5e-3}),
    "thread, 1 ms switch": (True, {"switch_interval": 1e-3}),
    "thread, 0.02 ms switch": (True, {"switch_interval": 2e-5}),
}


def _loop_step_seconds(loop, samples, augment, steps: int, variant) -> float:
    """segpipe's training step with ``augment``, over its second epoch (the first warms up)."""
    ahead, options = variant
    stages.nn.train.draws_ahead = draws_ahead if ahead is None else (lambda *_: ahead)
    stages.nn.train.prefetched = functools.partial(prefetched, **options)
    loop = dataclasses.replace(
        loop, augment=augment, epochs=2, steps_per_epoch=steps, scheduler="", patience=None
    )
    # validated on the training sample itself: the 3D sample holds too few patches to split
    return train_network(samples, samples, loop, progress=False).history[1]["step_seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--device", default="cpu", help="where the step and augmentation run")
    parser.add_argument("--variants", action="store_true", help="other ways to draw batches")
    args = parser.parse_args()
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
            chosen = dataclasses.replace(
                loop.augment,
                probabilities={**loop.augment.probabilities, **{n: 0.5 for n in names}},
            )
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
