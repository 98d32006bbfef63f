"""Every architecture on the demo's data: segpipe's cost over the bare network, and accuracy.

    .venv/bin/python benchmarks/bench_architectures.py overhead [--threads 2]
    .venv/bin/python benchmarks/bench_architectures.py inference [--ndim 3]
    .venv/bin/python benchmarks/bench_architectures.py tiles [--counts 1,16,64]
    .venv/bin/python benchmarks/bench_architectures.py switches [--architectures unet,resunet]
    .venv/bin/python benchmarks/bench_architectures.py accuracy --budget 150 [--cores 2] [--bf16]
    python benchmarks/bench_architectures.py gpu-training|gpu-inference (on a CUDA machine)

``overhead``: per architecture (BiaPy's default sizes for the demo's 2D config: patch 128x128,
batch 6), the mean training step of segpipe's loop (patch sampling and flips, channel
losses, optimiser) against the same module's forward + backward + AdamW step on random
tensors of the batch's shape, and segpipe's prediction of a 512x512 image's patches
(normalisation, padding, activations, cropping; no TTA) against the module's forward on
random patches of the same number and size. Ratios above 1 are segpipe's overhead.

``inference``: the forward time with batch norms folded into the convolutions and with
channel-last weights, each against the network as loaded, and the largest output change.

``tiles``: a folder of 256x256 tiles (the demo's, repeated) through one ``segpipe predict``
process (start-up, model load, reading, normalisation, writing; no TTA) against the module's
forward on the same patches in a warm process, and the same tiles one process each (what a
predict job per image cost before RUN.PREDICT_IMAGES_PER_JOB).

``switches``: segpipe's training step with TRAIN.BF16 (bfloat16 autocast) and with
MODEL.COMPILE (torch.compile; its compilation is paid in the first epoch, not timed), each
against the plain step.

``gpu-training`` and ``gpu-inference``: the overhead table on a CUDA device, with what
bfloat16 autocast, channel-last weights and (training) non-deterministic kernels change.

``accuracy``: the demo pipeline (`segpipe run`) once per architecture, each trained for the
number of epochs that fits ``--budget`` seconds at its measured step time, and its
held-out F1@0.5 on the demo's test tile.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from stages.commands.train import settings_from_config
from stages.config import load_config
from stages.demo import demo_tiles, read_stardist_sample
from stages.nn.data import Sample
from stages.nn.layout import channel_layout
from stages.nn.model import build_model
from stages.nn.normalization import normalize_image
from stages.nn.patches import patch_grid
from stages.nn.predict import predict_cores
from stages.nn.train import train_network

ROOT = Path(__file__).resolve().parents[1]
DEMO_CONFIG = ROOT / "config" / "config.yaml"
ARCHITECTURES = [
    "unet", "resunet", "attention_unet", "seunet", "resunet_se", "resunet++", "multiresunet",
    "unext_v1", "unext_v2", "unetr", "hrnet", "stunet",
]  # fmt: skip
STEPS = 12  # timed training steps (after WARMUP)
WARMUP = 3
CPU = torch.device("cpu")


def demo_settings(architecture: str):
    config, _ = load_config(DEMO_CONFIG)
    config["MODEL"]["ARCHITECTURE"] = architecture
    return settings_from_config(config)


def demo_samples(settings) -> list[Sample]:
    image, labels = read_stardist_sample("stardist2d")
    loop = settings.loop
    layout = channel_layout(list(loop.codes), loop.channel_options, 2, loop.n_classes)
    samples = []
    for tile_image, tile_labels in demo_tiles(image, labels)[:3]:
        normalized = normalize_image(tile_image[..., np.newaxis], settings.normalization)
        samples.append(
            Sample(
                image=np.moveaxis(normalized, -1, 0),
                targets=layout.training_targets(tile_labels, None),
                foreground=tile_labels > 0,
            )
        )
    return samples


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work, so that a wall-clock time covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare_step_seconds(
    network: torch.nn.Module,
    batch: int,
    patch,
    out_channels: int,
    device: torch.device = CPU,
    *,
    bf16: bool = False,
    channels_last: bool = False,
) -> float:
    """Mean forward + backward + AdamW step of the module on random tensors (``bf16``: the
    forward under bfloat16 autocast; ``channels_last``: weights and inputs channel-last)."""
    from stages.nn.inference import memory_format, to_channels_last

    network = network.to(device)
    layout = torch.contiguous_format
    if channels_last:
        layout = memory_format(len(patch))
        to_channels_last(network, len(patch))
    optimizer = torch.optim.AdamW(network.parameters(), lr=1e-4)
    x = torch.randn(batch, 1, *patch, device=device).contiguous(memory_format=layout)
    target = torch.rand(batch, out_channels, *patch, device=device)
    network.train()
    for index in range(WARMUP + STEPS):
        if index == WARMUP:
            synchronize(device)
            started = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            output = network(x)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(output.float(), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    synchronize(device)
    return (time.perf_counter() - started) / STEPS


def segpipe_step_seconds(settings, samples) -> float:
    """Mean training step of segpipe's loop over its second epoch (the first warms up)."""
    loop = dataclasses.replace(
        settings.loop, epochs=2, steps_per_epoch=STEPS, scheduler="", patience=None
    )
    outcome = train_network(samples, None, loop, progress=False)
    return outcome.history[1]["step_seconds"]


def inference_seconds(
    settings, network, image: np.ndarray, device: torch.device = CPU
) -> tuple[float, float]:
    """(segpipe's prediction of the image's patches, the module's forward on as many random
    patches), each the best of three."""
    loop = settings.loop
    grid = patch_grid(image.shape[:-1], loop.patch, [16, 16], [0.25, 0.25])
    layout = channel_layout(list(loop.codes), loop.channel_options, 2)
    meta = {
        "channels": list(layout.planes),
        "spec": {"in_channels": 1},
        "normalization": settings.normalization,
        "activations": list(layout.activations),
        "ndim": 2,
    }
    network.eval()
    ours, bare = [], []
    batch = loop.batch_size
    # the same batches as predict: full ones and the remainder
    sizes = [batch] * (len(grid) // batch) + ([len(grid) % batch] if len(grid) % batch else [])
    inputs = [torch.randn(size, 1, *loop.patch, device=device) for size in sizes]
    for _ in range(3):
        started = time.perf_counter()
        predict_cores(network, meta, image, grid, range(len(grid)), batch_size=batch, device=device)
        ours.append(time.perf_counter() - started)
        synchronize(device)
        started = time.perf_counter()
        with torch.inference_mode():
            for x in inputs:
                network(x)
        synchronize(device)
        bare.append(time.perf_counter() - started)
    return min(ours), min(bare)


def overhead(threads: int) -> None:
    torch.set_num_threads(threads)
    image, _ = read_stardist_sample("stardist2d")
    print(
        "| architecture | parameters | step, segpipe (s) | step, bare (s) | ratio "
        "| predict 512x512, segpipe (s) | forward, bare (s) | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for architecture in ARCHITECTURES:
        settings = demo_settings(architecture)
        samples = demo_samples(settings)
        torch.manual_seed(0)
        network = build_model(settings.loop.model)
        parameters = sum(p.numel() for p in network.parameters())
        # alternated, the best of two each; segpipe's loop switches on deterministic
        # algorithms, so the bare steps run under them too
        ours, bare = float("inf"), float("inf")
        for _ in range(2):
            ours = min(ours, segpipe_step_seconds(settings, samples))
            bare = min(
                bare,
                bare_step_seconds(
                    copy.deepcopy(network),
                    settings.loop.batch_size,
                    settings.loop.patch,
                    settings.loop.model.out_channels,
                ),
            )
        predicted, forward = inference_seconds(
            settings, network, image[..., np.newaxis].astype(np.float32)
        )
        print(
            f"| {architecture} | {parameters / 1e6:.2f} M | {ours:.3f} | {bare:.3f} "
            f"| {ours / bare:.2f} | {predicted:.2f} | {forward:.2f} | {predicted / forward:.2f} |",
            flush=True,
        )


#: networks whose normalisation is their own (batch, layer and instance norm): only "bn" runs
FIXED_NORMS = ("multiresunet", "unext_v1", "unext_v2", "stunet")


def with_norms(architectures: list[str]):
    """(architecture, normalisation) pairs to time: batch and instance norm where the
    network takes MODEL.NORMALIZATION."""
    for architecture in architectures:
        for norm in ("bn", "in"):
            if norm == "bn" or architecture not in FIXED_NORMS:
                yield architecture, norm


def forward_seconds(network, x: torch.Tensor, repeats: int = 5) -> tuple[float, torch.Tensor]:
    """Best of ``repeats`` forwards (after one warm-up), and the output."""
    with torch.inference_mode():
        output = network(x)
        best = float("inf")
        for _ in range(repeats):
            synchronize(x.device)
            started = time.perf_counter()
            output = network(x)
            synchronize(x.device)
            best = min(best, time.perf_counter() - started)
    return best, output


def inference_options(threads: int, ndim: int, architectures: list[str]) -> None:
    """Forward time of a batch with batch norms folded and/or channel-last weights, against
    the network as loaded (eval mode), and the largest output difference."""
    from stages.nn.inference import fuse_batch_norms, memory_format, to_channels_last

    torch.set_num_threads(threads)
    shape = (6, 1, 128, 128) if ndim == 2 else (2, 1, 32, 64, 64)
    print(f"{ndim}D, batch {tuple(shape)}, {threads} threads, normalisation bn and in:")
    print("| architecture | norm | as loaded (s) | folded | channels-last | both | max diff |")
    print("|---|---|---|---|---|---|---|")
    for architecture, norm in with_norms(architectures):
        settings = demo_settings(architecture)
        spec = dataclasses.replace(
            settings.loop.model, norm=norm, ndim=ndim, patch=tuple(shape[2:])
        )
        torch.manual_seed(0)
        network = build_model(spec)
        # statistics that are not the identity, as after training
        for module in network.modules():
            if isinstance(module, (torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
        network.eval()
        x = torch.randn(shape)
        base, reference = forward_seconds(network, x)
        folded_network = copy.deepcopy(network)
        fuse_batch_norms(folded_network)
        folded, out_folded = forward_seconds(folded_network, x)
        layout = memory_format(ndim)
        last_network = to_channels_last(copy.deepcopy(network), ndim)
        last, out_last = forward_seconds(last_network, x.contiguous(memory_format=layout))
        both_network = to_channels_last(folded_network, ndim)
        both, out_both = forward_seconds(both_network, x.contiguous(memory_format=layout))
        difference = max(
            float((out - reference).abs().max()) for out in (out_folded, out_last, out_both)
        )
        print(
            f"| {architecture} | {norm} | {base:.3f} | {folded / base:.2f}x "
            f"| {last / base:.2f}x | {both / base:.2f}x | {difference:.1e} |",
            flush=True,
        )


def tiles(counts: list[int], threads: int) -> None:
    from stages.io import write_tiff
    from stages.nn.model import ModelCard, save_model

    torch.set_num_threads(threads)
    settings = demo_settings("unet")
    loop = settings.loop
    layout = channel_layout(list(loop.codes), loop.channel_options, 2)
    image, labels = read_stardist_sample("stardist2d")
    demo = [tile for tile, _ in demo_tiles(image, labels)]
    network = build_model(loop.model).eval()
    card = ModelCard(
        spec=loop.model,
        channels=tuple(layout.planes),
        codes=tuple(loop.codes),
        channel_options=layout.options,
        activations=tuple(layout.activations),
        normalization=settings.normalization,
        patch_size=(*loop.patch, 1),
        training={},
    )
    print(
        "| tiles | one process (s) | bare forward (s) | ratio | one process per tile (s) | ratio |"
    )
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        save_model(folder / "model.pt", network.state_dict(), card)
        segpipe = str(Path(sys.executable).with_name("segpipe"))
        common = ["--model", str(folder / "model.pt"), "--config", str(DEMO_CONFIG), "--no-tta"]
        common += ["--threads", str(threads)]
        for count in counts:
            paths = []
            for index in range(count):
                tile = demo[index % len(demo)]
                # a different array each time: flipped and shifted copies of the demo's tiles
                tile = np.roll(tile[:: 1 - 2 * (index // len(demo) % 2)], index, axis=-1)
                paths.append(folder / f"tiles{count}" / f"tile-{index}.tif")
                write_tiff(paths[-1], np.ascontiguousarray(tile))
            started = time.perf_counter()
            subprocess.run(
                [segpipe, "predict", *map(str, paths), "--out-dir", str(folder / "out")] + common,
                check=True,
                capture_output=True,
            )
            grouped = time.perf_counter() - started
            started = time.perf_counter()
            for index, path in enumerate(paths[: min(count, 8)]):
                subprocess.run(
                    [segpipe, "predict", str(path), str(folder / f"one{index}.npz")] + common,
                    check=True,
                    capture_output=True,
                )
            # at most 8 timed, scaled to the count: each process does the same work
            alone = (time.perf_counter() - started) * count / min(count, 8)
            grid = patch_grid(demo[0].shape, loop.patch, [16, 16], [0.25, 0.25])
            batch = loop.batch_size
            sizes = [batch] * (len(grid) // batch) + [len(grid) % batch] * bool(len(grid) % batch)
            inputs = [torch.randn(size, 1, *loop.patch) for size in sizes]
            bare = []
            for _ in range(3):
                started = time.perf_counter()
                with torch.inference_mode():
                    for x in inputs:
                        network(x)
                bare.append(time.perf_counter() - started)
            forward = min(bare) * count
            print(
                f"| {count} | {grouped:.1f} | {forward:.1f} | {grouped / forward:.2f} "
                f"| {alone:.1f} | {alone / forward:.2f} |",
                flush=True,
            )


def switches(threads: int, architectures: list[str]) -> None:
    torch.set_num_threads(threads)
    print("| architecture | step (s) | bf16 step (s) | ratio | compiled step (s) | ratio |")
    print("|---|---|---|---|---|---|")
    for architecture in architectures:
        settings = demo_settings(architecture)
        samples = demo_samples(settings)
        steps = {}
        for name, change in (
            ("plain", {}),
            ("bf16", {"bf16": True}),
            ("compile", {"compile": True}),
        ):
            loop = dataclasses.replace(settings.loop, **change)
            torch.manual_seed(0)
            steps[name] = segpipe_step_seconds(dataclasses.replace(settings, loop=loop), samples)
        plain = steps["plain"]
        print(
            f"| {architecture} | {plain:.3f} | {steps['bf16']:.3f} | {steps['bf16'] / plain:.2f} "
            f"| {steps['compile']:.3f} | {steps['compile'] / plain:.2f} |",
            flush=True,
        )


def training_device() -> torch.device:
    """The device segpipe's loop picks (stages.nn.train.pick_device): CUDA when there is one."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "the CPU"


def gpu_training(architectures: list[str]) -> None:
    """The overhead table's training steps on the GPU, in float32 and under bfloat16 autocast,
    and what channel-last weights and non-deterministic kernels would change in the bare step."""
    device = training_device()
    print(f"Training steps on {device_name(device)}, the demo's 2D config:")
    print(
        "| architecture | parameters | step fp32, segpipe (ms) | bare (ms) | ratio "
        "| step bf16, segpipe (ms) | bare (ms) | ratio | bare bf16, channels-last "
        "| bare fp32, not deterministic |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for architecture in architectures:
        settings = demo_settings(architecture)
        samples = demo_samples(settings)
        loop = settings.loop
        torch.manual_seed(0)
        network = build_model(loop.model)
        parameters = sum(p.numel() for p in network.parameters())
        shape = (loop.batch_size, loop.patch, loop.model.out_channels)
        bf16_settings = dataclasses.replace(settings, loop=dataclasses.replace(loop, bf16=True))
        # segpipe's loop leaves deterministic algorithms on: the bare steps run under them too
        ours = segpipe_step_seconds(settings, samples)
        bare = bare_step_seconds(copy.deepcopy(network), *shape, device)
        ours_bf16 = segpipe_step_seconds(bf16_settings, samples)
        bare_bf16 = bare_step_seconds(copy.deepcopy(network), *shape, device, bf16=True)
        last_bf16 = bare_step_seconds(
            copy.deepcopy(network), *shape, device, bf16=True, channels_last=True
        )
        torch.use_deterministic_algorithms(False)
        free = bare_step_seconds(copy.deepcopy(network), *shape, device)
        print(
            f"| {architecture} | {parameters / 1e6:.2f} M | {ours * 1e3:.1f} | {bare * 1e3:.1f} "
            f"| {ours / bare:.2f} | {ours_bf16 * 1e3:.1f} | {bare_bf16 * 1e3:.1f} "
            f"| {ours_bf16 / bare_bf16:.2f} | {last_bf16 / bare_bf16:.2f}x | {free / bare:.2f}x |",
            flush=True,
        )


def gpu_inference(architectures: list[str]) -> None:
    """The overhead table's prediction on the GPU (the network made ready as `segpipe predict`
    does), and the forward time of a batch with channel-last weights and/or bfloat16
    autocast against float32 as loaded, with their largest output change; with batch norm
    (the demo's) and instance norm."""
    from stages.nn.inference import memory_format, prefers_channels_last, prepare_for_inference

    device = training_device()
    image, _ = read_stardist_sample("stardist2d")
    image = image[..., np.newaxis].astype(np.float32)
    print(f"Prediction on {device_name(device)}, the demo's 2D config:")
    print(
        "| architecture | norm | predict 512x512, segpipe (ms) | forward, bare (ms) | ratio "
        "| batch forward fp32 (ms) | channels-last | bf16 | both | max diff, channels-last "
        "| max diff, bf16 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for architecture, norm in with_norms(architectures):
        settings = demo_settings(architecture)
        loop = dataclasses.replace(
            settings.loop, model=dataclasses.replace(settings.loop.model, norm=norm)
        )
        settings = dataclasses.replace(settings, loop=loop)
        torch.manual_seed(0)
        network = build_model(loop.model).to(device).eval()
        spec = {"architecture": architecture, "norm": norm}
        ready = prepare_for_inference(
            copy.deepcopy(network), 2, channels_last=prefers_channels_last(spec, device)
        )
        predicted, forward = inference_seconds(settings, ready, image, device)
        x = torch.rand(loop.batch_size, 1, *loop.patch, device=device)
        base, reference = forward_seconds(network, x)
        layout = memory_format(2)
        last_network = prepare_for_inference(copy.deepcopy(network), 2, channels_last=True)
        last, out_last = forward_seconds(last_network, x.contiguous(memory_format=layout))
        with torch.autocast(device.type, dtype=torch.bfloat16):
            bf16, out_bf16 = forward_seconds(network, x)
            both, _ = forward_seconds(last_network, x.contiguous(memory_format=layout))
        print(
            f"| {architecture} | {norm} | {predicted * 1e3:.1f} | {forward * 1e3:.1f} "
            f"| {predicted / forward:.2f} | {base * 1e3:.2f} | {last / base:.2f}x "
            f"| {bf16 / base:.2f}x | {both / base:.2f}x "
            f"| {float((out_last - reference).abs().max()):.1e} "
            f"| {float((out_bf16.float() - reference).abs().max()):.1e} |",
            flush=True,
        )


def accuracy(budget: float, cores: int, architectures: list[str], bf16: bool = False) -> None:
    from demo_runs import run_demo

    print("| architecture | epochs in the budget | train (s) | F1@0.5 | precision | recall |")
    print("|---|---|---|---|---|---|")
    torch.set_num_threads(cores)
    for architecture in architectures:
        settings = demo_settings(architecture)
        if bf16:
            settings = dataclasses.replace(
                settings, loop=dataclasses.replace(settings.loop, bf16=True)
            )
        samples = demo_samples(settings)
        step = segpipe_step_seconds(settings, samples)
        # the demo's epoch: 11 training cells of 128x128 (12 less one held out), REPLICATE 20,
        # in batches of the config's size
        steps_per_epoch = -(-11 * 20 // settings.loop.batch_size)
        epochs = max(1, int(budget / (step * steps_per_epoch)))
        seconds, row = run_demo(
            {
                "MODEL": {"ARCHITECTURE": architecture},
                "TRAIN": {"EPOCHS": epochs, "PATIENCE": -1, "BF16": bf16},
            },
            cores,
        )
        print(
            f"| {architecture} | {epochs} | {seconds:.0f} | {row['0.5 TH f1']:.3f} "
            f"| {row['0.5 TH precision']:.3f} | {row['0.5 TH recall']:.3f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "what",
        choices=[
            "overhead", "accuracy", "inference", "tiles", "switches", "gpu-training",
            "gpu-inference",
        ],
    )  # fmt: skip
    parser.add_argument("--counts", default="1,16,64", help="tiles: folder sizes")
    parser.add_argument("--ndim", type=int, default=2)
    parser.add_argument(
        "--architectures", default=",".join(ARCHITECTURES), help="comma-separated names"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--budget", type=float, default=150.0)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--bf16", action="store_true", help="accuracy: train with TRAIN.BF16")
    arguments = parser.parse_args()
    if arguments.what == "overhead":
        overhead(arguments.threads)
    elif arguments.what == "inference":
        inference_options(arguments.threads, arguments.ndim, arguments.architectures.split(","))
    elif arguments.what == "switches":
        switches(arguments.threads, arguments.architectures.split(","))
    elif arguments.what == "gpu-training":
        gpu_training(arguments.architectures.split(","))
    elif arguments.what == "gpu-inference":
        gpu_inference(arguments.architectures.split(","))
    elif arguments.what == "tiles":
        tiles([int(c) for c in arguments.counts.split(",")], arguments.threads)
    else:
        accuracy(
            arguments.budget, arguments.cores, arguments.architectures.split(","), arguments.bf16
        )


if __name__ == "__main__":
    main()
