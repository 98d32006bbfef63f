"""The training loop: random patches, per-channel losses, validation, checkpoints, resume.

A model is a folder: ``model.pt`` (best-on-validation weights and everything
needed to rebuild and apply the network: channel codes, activations,
normalisation, patch size), ``model_last.pt`` (the last epoch's weights),
``normalization.json`` and ``train_config.yaml``. The resumable state (weights,
optimizer, scheduler, RNG, log) lives in ``resume/`` and is written atomically
after every epoch, so a killed run continues from its last finished epoch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..io import atomic_output, provenance, write_json
from .data import PatchSampler, Sample, all_cells, fixed_patches, split_validation
from .layout import channel_layout
from .losses import code_losses
from .model import ModelCard, build_model, save_model
from .settings import TrainSettings

log = logging.getLogger("segpipe.train")


@dataclass
class TrainResult:
    epochs: int
    best_epoch: int
    best_val_loss: float
    seconds: float
    resumed_from: int
    main: bool = True  # False in the other processes of a distributed run, which write nothing


@dataclass(frozen=True)
class Distributed:
    """Where this process stands in a `torch.distributed.run` launch (world 1 when run alone)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def start_distributed() -> Distributed:
    """Join the process group that torch.distributed.run set up (NCCL on GPUs, gloo on CPUs)."""
    import os

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    torch.distributed.init_process_group(backend)
    where = Distributed(
        rank=torch.distributed.get_rank(),
        world=world,
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
    )
    if where.main:
        log.info("distributed training: %d processes, backend %s", world, backend)
    return where


def pick_device(where: Distributed = Distributed()) -> torch.device:
    """CUDA when usable (the GPUs SLURM gave us, via CUDA_VISIBLE_DEVICES), else the CPU, said in
    the log."""
    import os

    if torch.cuda.is_available():
        device = torch.device("cuda", where.local_rank % torch.cuda.device_count())
        log.info(
            "training on %s (%s; CUDA_VISIBLE_DEVICES=%s)",
            device,
            torch.cuda.get_device_name(device),
            os.environ.get("CUDA_VISIBLE_DEVICES", "unset"),
        )
        return device
    if os.environ.get("CUDA_VISIBLE_DEVICES") not in (None, ""):
        log.info(
            "CUDA_VISIBLE_DEVICES=%s but torch sees no usable CUDA device: training on the CPU "
            "with %d thread(s)",
            os.environ["CUDA_VISIBLE_DEVICES"],
            torch.get_num_threads(),
        )
    else:
        log.info(
            "CUDA is not available: training on the CPU with %d thread(s)", torch.get_num_threads()
        )
    return torch.device("cpu")


def _optimizer(model: torch.nn.Module, settings: TrainSettings) -> torch.optim.Optimizer:
    name, lr, decay = settings.optimizer, settings.lr, settings.weight_decay
    if name == "SGD":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=decay)
    if name == "ADAM":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=decay)
    return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=decay)


def _scheduler(optimizer: torch.optim.Optimizer, settings: TrainSettings, steps_per_epoch: int):
    """(scheduler, steps per call): per-step schedules are called each step, plateau each epoch."""
    name, epochs, base = settings.scheduler, settings.epochs, settings.lr
    if name == "warmupcosine":
        warmup = settings.warmup_epochs * steps_per_epoch
        total = max(epochs * steps_per_epoch, warmup + 1)
        floor = settings.min_lr / base

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            progress = (step - warmup) / max(1, total - warmup)
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor), "step"
    if name == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=base, total_steps=epochs * steps_per_epoch
        ), "step"
    if name == "reduceonplateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            factor=settings.plateau_factor,
            patience=settings.plateau_patience,
            min_lr=settings.min_lr,
        ), "epoch"
    return None, ""


def _fingerprint(settings: dict, names: Sequence[str]) -> str:
    text = json.dumps({"settings": settings, "inputs": list(names)}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _save_atomic(obj: dict, path: Path) -> None:
    with atomic_output(path) as temporary:
        torch.save(obj, temporary)


def _loss_chart(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    epochs = [r["epoch"] for r in rows]
    axis.plot(epochs, [r["train_loss"] for r in rows], label="train")
    axis.plot(epochs, [r["val_loss"] for r in rows], label="validation")
    axis.set_xlabel("epoch")
    axis.set_ylabel("loss")
    axis.set_title(title)
    axis.legend()
    figure.tight_layout()
    with atomic_output(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    plt.close(figure)


def _to_tensor(array: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(device)


def _validation_losses(
    network: torch.nn.Module,
    patches: tuple[np.ndarray, np.ndarray, np.ndarray],
    batch_size: int,
    device: torch.device,
    **loss_options,
) -> np.ndarray:
    """Mean loss per channel over the fixed validation patches.

    Every process of a distributed run scores the same patches with the same weights,
    so all of them agree on the best epoch and on early stopping.
    """
    images, targets, foreground = patches
    network.eval()
    totals = np.zeros(len(loss_options["layout"].parts))
    with torch.no_grad():
        for first in range(0, len(images), batch_size):
            chunk = slice(first, first + batch_size)
            per_channel = code_losses(
                network(_to_tensor(images[chunk], device)),
                _to_tensor(targets[chunk], device),
                _to_tensor(foreground[chunk], device),
                **loss_options,
            )
            totals += per_channel.cpu().numpy() * len(images[chunk])
    return totals / len(images)


def train_model(
    samples: Sequence[Sample],
    val_samples: Sequence[Sample] | None,
    settings: TrainSettings,
    *,
    model_dir: Path,
    log_csv: Path,
    chart_png: Path,
    names: Sequence[str],
    normalization: dict,
    seed: int = 0,
    progress: bool = True,
) -> TrainResult:
    """Train the network of ``settings.model`` on ``samples`` and write the model folder.

    Resumes from ``model_dir/resume`` when its state was written for the same settings and
    inputs.

    Parameters
    ----------
    samples : training images with their encoded channels and foreground masks.
    val_samples : a separate validation set, or None to hold out ``settings.val_split`` of
    ``samples``.
    names : input file names, part of the fingerprint that decides whether a resume state fits.
    """
    started = time.time()
    codes = list(settings.codes)
    patch = tuple(settings.patch)
    layout = channel_layout(codes, settings.channel_options, len(patch))
    options = layout.options
    weights = torch.tensor(settings.channel_weights or [1.0] * len(codes), dtype=torch.float32)
    batch_size = settings.batch_size

    where = start_distributed()
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    rng = np.random.default_rng(seed)  # the validation split must be the same in every process
    if val_samples is None:
        held = split_validation(
            [s.foreground.shape for s in samples], patch, settings.val_split, rng
        )
        val_images, val_targets, val_foreground = fixed_patches(samples, patch, held)
    else:
        held = [[] for _ in samples]
        val_images, val_targets, val_foreground = fixed_patches(
            val_samples, patch, all_cells(val_samples, patch)
        )
    sampler = PatchSampler(samples, patch, held, rng)
    replicate = max(1, settings.replicate)
    # an epoch draws the same number of patches however many processes share it
    steps_per_epoch = max(
        1, math.ceil(sampler.patches_per_pass * replicate / (batch_size * where.world))
    )
    augment = settings.augment

    device = pick_device(where)
    spec = settings.model
    if (spec.in_channels, spec.out_channels) != (samples[0].image.shape[0], len(layout.planes)):
        raise ValueError(
            f"the model takes {spec.in_channels} channel(s) and makes {spec.out_channels}, but the "
            f"images have {samples[0].image.shape[0]} and the targets {len(layout.planes)}"
        )
    network = build_model(spec).to(device)
    model = network
    if where.world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            network, device_ids=[device.index] if device.type == "cuda" else None
        )
    optimizer = _optimizer(model, settings)
    scheduler, schedule_unit = _scheduler(optimizer, settings, steps_per_epoch)
    weights = weights.to(device)

    resume_dir = model_dir / "resume"
    fingerprint = _fingerprint(
        {"settings": asdict(settings), "normalization": normalization, "seed": seed},
        names,
    )
    rows: list[dict] = []
    start_epoch, best_loss, best_epoch, stale = 0, math.inf, -1, 0
    last_path = resume_dir / "last.pt"
    if last_path.exists():
        state = torch.load(last_path, map_location=device, weights_only=True)
        if state.get("fingerprint") == fingerprint:
            network.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            if scheduler is not None and state.get("scheduler"):
                scheduler.load_state_dict(state["scheduler"])
            torch.set_rng_state(state["torch_rng"])
            rng.bit_generator.state = json.loads(state["numpy_rng"])
            start_epoch, best_loss, best_epoch, stale = (
                state["epoch"] + 1,
                state["best_loss"],
                state["best_epoch"],
                state["stale"],
            )
            rows = json.loads(state["rows"])
            log.info(
                "resuming from %s after epoch %d (best validation loss %.4f at epoch %d)",
                last_path,
                state["epoch"] + 1,
                best_loss,
                best_epoch + 1,
            )
        else:
            log.info("ignoring %s: it was written for another config or other inputs", last_path)
    resumed_from = start_epoch
    log.info(
        "%d training patch(es) of %s per epoch in %d step(s) of %d; %d validation patch(es); "
        "channels %s",
        steps_per_epoch * batch_size,
        patch,
        steps_per_epoch,
        batch_size,
        len(val_images),
        codes,
    )

    patience = settings.patience
    from tqdm import tqdm

    epoch = start_epoch - 1
    for epoch in range(start_epoch, settings.epochs):
        epoch_started = time.time()
        if not where.main:
            # other processes draw their own patches, reproducibly per epoch (resume included)
            sampler.rng = np.random.default_rng([seed, where.rank, epoch])
        model.train()
        totals = np.zeros(len(codes))
        bar = tqdm(
            range(steps_per_epoch),
            desc=f"epoch {epoch + 1}/{settings.epochs}",
            disable=not (progress and where.main),
            file=sys.stderr,
            mininterval=2.0,
            leave=False,
        )
        for _ in bar:
            images, targets, foreground = sampler.batch(
                batch_size,
                augment,
                layout.planes,
                layout.training_targets if layout.reencode else None,
            )
            per_channel = code_losses(
                model(_to_tensor(images, device)),
                _to_tensor(targets, device),
                _to_tensor(foreground, device),
                layout,
                rebalance=settings.rebalance,
            )
            loss = (weights * per_channel).sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if schedule_unit == "step":
                scheduler.step()
            totals += per_channel.detach().cpu().numpy()
            bar.set_postfix(loss=f"{loss.item():.4f}")
        if where.world > 1:
            shared = torch.tensor(totals, dtype=torch.float64)
            torch.distributed.all_reduce(shared)
            totals = shared.numpy() / where.world
        train_loss = float((weights.cpu().numpy() * totals).sum() / steps_per_epoch)

        val_per_channel = _validation_losses(
            network, (val_images, val_targets, val_foreground), batch_size, device, layout=layout
        )
        val_loss = float((weights.cpu().numpy() * val_per_channel).sum())
        if schedule_unit == "epoch":
            scheduler.step(val_loss)

        row = {
            "epoch": epoch + 1,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "lr": optimizer.param_groups[0]["lr"],
            **{f"val_loss_{c}": float(v) for c, v in zip(codes, val_per_channel)},
            "seconds": time.time() - epoch_started,
        }
        rows.append(row)
        improved = val_loss < best_loss
        if improved:
            best_loss, best_epoch, stale = val_loss, epoch, 0
        else:
            stale += 1
        if where.main:
            if improved:
                _save_atomic({"model": network.state_dict()}, resume_dir / "best.pt")
            _save_atomic(
                {
                    "model": network.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict() if scheduler is not None else {},
                    "torch_rng": torch.get_rng_state(),
                    "numpy_rng": json.dumps(rng.bit_generator.state),
                    "epoch": epoch,
                    "best_loss": best_loss,
                    "best_epoch": best_epoch,
                    "stale": stale,
                    "rows": json.dumps(rows),
                    "fingerprint": fingerprint,
                },
                last_path,
            )
        if where.world > 1:
            torch.distributed.barrier()
        (log.info if where.main else log.debug)(
            "epoch %d/%d  train %.4f  val %.4f%s  lr %.2e  %.1fs",
            epoch + 1,
            settings.epochs,
            train_loss,
            val_loss,
            " (best)" if improved else "",
            row["lr"],
            row["seconds"],
        )
        if patience is not None and stale >= patience:
            log.info(
                "no better validation loss for %d epoch(s): stopping early (TRAIN.PATIENCE)", stale
            )
            break

    if best_epoch < 0:
        raise RuntimeError(
            f"no epoch was trained ({settings.epochs} epoch(s), resume state at "
            f"epoch {start_epoch})"
        )
    result = TrainResult(
        epochs=epoch + 1,
        best_epoch=best_epoch + 1,
        best_val_loss=best_loss,
        seconds=time.time() - started,
        resumed_from=resumed_from,
        main=where.main,
    )
    if where.world > 1:
        torch.distributed.destroy_process_group()
    if not where.main:
        return result
    best = torch.load(resume_dir / "best.pt", map_location="cpu", weights_only=True)["model"]
    card = ModelCard(
        spec=spec,
        channels=tuple(layout.planes),
        codes=tuple(codes),
        channel_options=options,
        activations=tuple(layout.activations),
        normalization=normalization,
        patch_size=(*patch, spec.in_channels),
        training={
            "epochs": epoch + 1,
            "best_epoch": best_epoch + 1,
            "best_val_loss": best_loss,
            "seed": seed,
            "processes": where.world,
            "provenance": provenance(),
        },
    )
    save_model(model_dir / "model.pt", best, card)
    save_model(model_dir / "model_last.pt", network.state_dict(), card)
    write_json(model_dir / "normalization.json", normalization)
    import pandas as pd

    from ..io import write_csv

    write_csv(log_csv, pd.DataFrame(rows))
    _loss_chart(rows, chart_png, f"{model_dir.parent.name} loss")
    return result


def clear_resume_state(model_dir: Path) -> None:
    shutil.rmtree(model_dir / "resume", ignore_errors=True)
