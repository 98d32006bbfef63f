"""The training loop: random patches, per-channel losses, validation, early stopping, resume.

The loop writes no files. It returns the per-epoch history and the best and last weights,
and hands its resumable state (weights, optimizer, scheduler, random generators, history)
to an ``on_epoch`` callback after every epoch; ``segpipe train`` saves that state
(:mod:`stages.nn.checkpoints`), the model folder and the loss chart.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .batch_workers import (
    BatchMaker,
    BatchWorkers,
    float_tensor,
    recipe_drawer,
    recipe_stream,
    worker_count,
)
from .data import (
    PatchSampler,
    Sample,
    all_cells,
    at_most,
    cross_validation_fold,
    filter_cells,
    fixed_patches,
    patch_cell_count,
    split_validation,
)
from .layout import channel_layout
from .lazy_samples import LAZY_VALIDATION_PATCHES, is_lazy
from .losses import code_losses
from .model import build_model
from .prefetch import draws_ahead, prefetched
from .settings import TrainSettings

log = logging.getLogger("segpipe.train")


@dataclass
class TrainState:
    """What a run needs to continue after its last finished epoch (0-based ``epoch``)."""

    epoch: int
    model: dict
    optimizer: dict
    scheduler: dict
    torch_rng: torch.Tensor
    numpy_rng: dict
    best_loss: float
    best_epoch: int  # 0-based; -1 before the first epoch
    stale: int  # epochs since the best one
    history: list[dict]
    best_model: dict  # the weights of the best epoch so far

    def to_file(self) -> dict:
        """The state as plain tensors and strings (``torch.load(weights_only=True)`` reads it)."""
        return {
            "epoch": self.epoch,
            "model": self.model,
            "optimizer": self.optimizer,
            "scheduler": self.scheduler,
            "torch_rng": self.torch_rng,
            "numpy_rng": json.dumps(self.numpy_rng),
            "best_loss": self.best_loss,
            "best_epoch": self.best_epoch,
            "stale": self.stale,
            "rows": json.dumps(self.history),
        }

    @classmethod
    def from_file(cls, saved: dict, best_model: dict) -> TrainState:
        return cls(
            epoch=saved["epoch"],
            model=saved["model"],
            optimizer=saved["optimizer"],
            scheduler=saved["scheduler"],
            torch_rng=saved["torch_rng"],
            numpy_rng=json.loads(saved["numpy_rng"]),
            best_loss=saved["best_loss"],
            best_epoch=saved["best_epoch"],
            stale=saved["stale"],
            history=json.loads(saved["rows"]),
            best_model=best_model,
        )


@dataclass
class TrainOutcome:
    """The history and weights of a finished run (weights on the CPU)."""

    history: list[dict]
    best_weights: dict
    last_weights: dict
    epochs: int
    best_epoch: int  # 1-based, as in the history
    best_val_loss: float
    seconds: float
    resumed_from: int
    processes: int = 1
    main: bool = True  # False in the other processes of a distributed run, which write nothing
    #: per training sample, the start corners of its held-out validation cells (none with a
    #: validation folder): where thresholds can be tuned on data the network never learnt from
    validation_cells: list = field(default_factory=list)


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
        # cuBLAS is deterministic only with a fixed workspace, read when its handle is made
        # (at the first matrix product, after this): PyTorch's reproducibility notes
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
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
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=decay, betas=settings.betas)
    return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=decay, betas=settings.betas)


def freeze_layers(network: torch.nn.Module, patterns: Sequence[str]) -> list[str]:
    """Parameters whose name matches any of the regexes ``patterns`` (re.search) are not
    trained (MODEL.FREEZE_LAYERS_MATCHING); returns their names."""
    import re

    if not patterns:
        return []
    compiled = [re.compile(p) for p in patterns]
    frozen = []
    for name, parameter in network.named_parameters():
        if any(p.search(name) for p in compiled):
            parameter.requires_grad_(False)
            frozen.append(name)
    if not frozen:
        raise ValueError(
            f"MODEL.FREEZE_LAYERS_MATCHING {list(patterns)} matches no parameter of the network"
        )
    log.info("%d parameter tensor(s) frozen (MODEL.FREEZE_LAYERS_MATCHING)", len(frozen))
    return frozen


def apply_gradients(
    network: torch.nn.Module, optimizer: torch.optim.Optimizer, clip: float = 0.0
) -> None:
    """One optimiser step from the gradients computed, their total norm clipped to ``clip``
    first when it is positive (TRAIN.GRADIENT_CLIP_NORM)."""
    if clip > 0:
        torch.nn.utils.clip_grad_norm_(network.parameters(), max_norm=clip)
    optimizer.step()


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
                network(float_tensor(images[chunk], device)),
                float_tensor(targets[chunk], device),
                float_tensor(foreground[chunk], device),
                **loss_options,
            )
            totals += per_channel.cpu().numpy() * len(images[chunk])
    return totals / len(images)


#: steps of the first epoch after which its length is estimated
ESTIMATE_AFTER_STEPS = 5
#: an epoch estimated longer than this (seconds) is warned about
LONG_EPOCH_SECONDS = 600.0


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def _time_left(epoch_seconds: list[float], epochs_left: int) -> str:
    """'  (about 12 min left)' from the mean epoch time so far; '' after the last epoch."""
    if epochs_left <= 0 or not epoch_seconds:
        return ""
    return f"  (about {_minutes(epochs_left * sum(epoch_seconds) / len(epoch_seconds))} left)"


def _estimate_epoch(seconds: float, steps: int, steps_per_epoch: int, batch_size: int) -> None:
    """Log what an epoch will cost, from its first steps; warn when it will run long."""
    estimate = seconds / steps * steps_per_epoch
    log.info(
        "an epoch is %d step(s) of %d patch(es): about %s at %.2f s a step",
        steps_per_epoch,
        batch_size,
        _minutes(estimate),
        seconds / steps,
    )
    if estimate > LONG_EPOCH_SECONDS:
        log.warning(
            "an epoch will take about %s: lower DATA.TRAIN.REPLICATE (each image's patch grid "
            "is drawn that many times an epoch) or use a GPU",
            _minutes(estimate),
        )


def _cpu_copy(weights: dict) -> dict:
    return {name: tensor.detach().to("cpu", copy=True) for name, tensor in weights.items()}


def part_weights(channel_weights: Sequence[float], codes: int, parts: int) -> list[float]:
    """The loss weight of each part of the output: the codes' from ``channel_weights`` (empty:
    1 each), then the class head's — the weight after the codes' when given (as BiaPy's
    DATA_CHANNEL_WEIGHTS with classes), else 1."""
    given = list(channel_weights) or [1.0] * codes
    return [float(w) for w in given[:parts]] + [1.0] * (parts - len(given))


def train_network(
    samples: Sequence[Sample],
    val_samples: Sequence[Sample] | None,
    settings: TrainSettings,
    *,
    seed: int = 0,
    resume: TrainState | None = None,
    on_epoch: Callable[[TrainState, bool], None] | None = None,
    progress: bool = True,
    initial_weights: dict | None = None,
) -> TrainOutcome:
    """Train the network of ``settings.model`` on ``samples``; return its history and weights.

    Parameters
    ----------
    samples : training images with their encoded channels and foreground masks.
    val_samples : a separate validation set, or None to hold out ``settings.val_split`` of
        ``samples``.
    resume : the state after a finished epoch of a run with the same settings and inputs
        (the caller decides that it fits); training continues after that epoch.
    initial_weights : weights to start from (fine-tuning) instead of a random initialisation;
        a resume state wins over them.
    on_epoch : called in the first process after every epoch with the resumable state and
        whether the epoch was the best so far (the caller saves it).
    """
    started = time.time()
    codes = list(settings.codes)
    patch = tuple(settings.patch)
    layout = channel_layout(
        codes,
        settings.channel_options,
        len(patch),
        settings.n_classes,
        dict(zip(codes, settings.losses, strict=True)) if settings.losses else None,
    )
    parts = [part.code for part in layout.parts]
    weights = torch.tensor(
        part_weights(settings.channel_weights, len(codes), len(parts)), dtype=torch.float32
    )
    class_weights = (
        torch.tensor(settings.class_weights, dtype=torch.float32)
        if settings.class_weights
        else None
    )
    batch_size = settings.batch_size

    where = start_distributed()
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    rng = np.random.default_rng(seed)  # the validation split must be the same in every process
    shapes = [s.foreground.shape for s in samples]
    if val_samples is None and settings.cross_val is None and patch_cell_count(shapes, patch) < 2:
        log.warning(
            "the training images hold one patch of DATA.PATCH_SIZE %s: none can be held out, "
            "so the validation loss is that of the training patch itself (BiaPy's overlapping "
            "crops share it too); a validation folder or smaller patches give an honest one",
            patch,
        )
        validated = all_cells(samples, patch)
        held = [[] for _ in samples]
        val_images, val_targets, val_foreground = fixed_patches(samples, patch, validated)
    elif val_samples is None:
        if settings.cross_val is not None:
            held = cross_validation_fold(shapes, patch, *settings.cross_val, rng)
        else:
            held = split_validation(shapes, patch, settings.val_split, rng)
        if any(is_lazy(s.foreground) for s in samples):
            held = at_most(held, LAZY_VALIDATION_PATCHES, rng)
        kept = held if settings.val_filter is None else filter_cells(
            samples, patch, held, settings.val_filter
        )  # fmt: skip
        val_images, val_targets, val_foreground = fixed_patches(samples, patch, kept)
        validated = held
    else:
        held = validated = [[] for _ in samples]
        cells = all_cells(val_samples, patch)
        if settings.val_filter is not None:
            cells = filter_cells(val_samples, patch, cells, settings.val_filter)
        if any(is_lazy(s.foreground) for s in val_samples):
            cells = at_most(cells, LAZY_VALIDATION_PATCHES, rng)
        val_images, val_targets, val_foreground = fixed_patches(val_samples, patch, cells)
    sampler = PatchSampler(
        samples, patch, held, rng, settings.train_filter, settings.center_weights
    )
    replicate = max(1, settings.replicate)
    # an epoch draws the same number of patches however many processes share it
    steps_per_epoch = settings.steps_per_epoch or max(
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
    network = build_model(spec)
    if initial_weights is not None:
        network.load_state_dict(initial_weights)
    network = network.to(device)
    freeze_layers(network, settings.frozen_layers)
    model = network
    if where.world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            network, device_ids=[device.index] if device.type == "cuda" else None
        )
    if settings.compile:
        # the compiled module shares the network's parameters: weights are still read from it
        model = torch.compile(model)
    optimizer = _optimizer(model, settings)
    scheduler, schedule_unit = _scheduler(optimizer, settings, steps_per_epoch)
    weights = weights.to(device)
    if class_weights is not None:
        class_weights = class_weights.to(device)

    rows: list[dict] = []
    start_epoch, best_loss, best_epoch, stale = 0, math.inf, -1, 0
    best_weights: dict = {}
    if resume is not None:
        network.load_state_dict(resume.model)
        optimizer.load_state_dict(resume.optimizer)
        if scheduler is not None and resume.scheduler:
            scheduler.load_state_dict(resume.scheduler)
        torch.set_rng_state(resume.torch_rng)
        rng.bit_generator.state = resume.numpy_rng
        start_epoch = resume.epoch + 1
        best_loss, best_epoch, stale = resume.best_loss, resume.best_epoch, resume.stale
        rows, best_weights = copy.deepcopy(resume.history), _cpu_copy(resume.best_model)
        log.info(
            "resuming after epoch %d (best validation loss %.4f at epoch %d)",
            start_epoch,
            best_loss,
            best_epoch + 1,
        )
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

    maker = BatchMaker.for_layout(samples, augment, layout)
    epochs = range(start_epoch, settings.epochs)
    rng_after_epoch: dict[int, dict] = {}

    def reseed(epoch: int) -> None:
        # other processes draw their own patches, reproducibly per epoch (resume included)
        sampler.rng = np.random.default_rng([seed, where.rank, epoch])

    recipes = recipe_stream(
        sampler,
        recipe_drawer(sampler, batch_size, augment, layout.planes, layout.reencode),
        steps_per_epoch,
        epochs,
        rng_after_epoch,
        reseed=None if where.main else reseed,
    )

    def draw_batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The next training batch on the device: sampled, flipped, augmented."""
        return maker.make(next(recipes), device)

    ahead = draws_ahead(device, len(augment.batch_augmentations) if augment else 0)
    batch_values = maker.batch_values(batch_size, patch)
    workers = worker_count(settings.workers, device, torch.get_num_threads(), 4 * batch_values)
    workers = workers if len(epochs) else 0  # a finished run resumed: nothing to make
    made_elsewhere = (
        BatchWorkers(
            maker,
            recipes,
            steps_per_epoch * len(epochs),
            workers,
            device,
            batch_values,
        )
        if workers
        else None
    )
    if workers:
        log.info("training batches made in %d worker process(es)", workers)
    epoch = start_epoch - 1
    epoch_seconds: list[float] = []
    try:
        for epoch in epochs:
            epoch_started = time.time()
            model.train()
            totals = np.zeros(len(parts))
            bar = tqdm(
                range(steps_per_epoch),
                desc=f"epoch {epoch + 1}/{settings.epochs}",
                disable=not (progress and where.main),
                file=sys.stderr,
                mininterval=2.0,
                leave=False,
            )
            batches = (
                made_elsewhere.take(steps_per_epoch)
                if made_elsewhere is not None
                else prefetched(draw_batch, steps_per_epoch, device, background=ahead)
            )
            for step, (images, targets, foreground) in zip(bar, batches):
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=settings.bf16):
                    logits = model(images)
                per_channel = code_losses(
                    logits.float(),
                    targets,
                    foreground,
                    layout,
                    rebalance=settings.rebalance,
                    class_weights=class_weights,
                )
                loss = (weights * per_channel).sum()
                if not torch.isfinite(loss):
                    raise ValueError(
                        f"training diverged: the loss is {loss.item()} at epoch {epoch + 1}; lower "
                        "TRAIN.LR or check the training images"
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                apply_gradients(network, optimizer, settings.gradient_clip)
                if schedule_unit == "step":
                    scheduler.step()
                totals += per_channel.detach().cpu().numpy()
                bar.set_postfix(loss=f"{loss.item():.4f}")
                if where.main and not epoch_seconds and step + 1 == ESTIMATE_AFTER_STEPS:
                    _estimate_epoch(
                        time.time() - epoch_started, step + 1, steps_per_epoch, batch_size
                    )
            batches.close()  # its thread, if any, ends with the epoch
            if where.world > 1:
                shared = torch.tensor(totals, dtype=torch.float64)
                torch.distributed.all_reduce(shared)
                totals = shared.numpy() / where.world
            train_loss = float((weights.cpu().numpy() * totals).sum() / steps_per_epoch)

            train_seconds = time.time() - epoch_started
            val_per_channel = _validation_losses(
                network,
                (val_images, val_targets, val_foreground),
                batch_size,
                device,
                layout=layout,
                class_weights=class_weights,
            )
            val_loss = float((weights.cpu().numpy() * val_per_channel).sum())
            if schedule_unit == "epoch":
                scheduler.step(val_loss)

            row = {
                "epoch": epoch + 1,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "lr": optimizer.param_groups[0]["lr"],
                **{f"train_loss_{c}": float(v) / steps_per_epoch for c, v in zip(parts, totals)},
                **{f"val_loss_{c}": float(v) for c, v in zip(parts, val_per_channel)},
                "seconds": time.time() - epoch_started,
                "step_seconds": train_seconds / steps_per_epoch,
            }
            rows.append(row)
            improved = val_loss < best_loss
            if improved:
                best_loss, best_epoch, stale = val_loss, epoch, 0
                best_weights = _cpu_copy(network.state_dict())
            else:
                stale += 1
            if where.main and on_epoch is not None:
                on_epoch(
                    TrainState(
                        epoch=epoch,
                        model=network.state_dict(),
                        optimizer=optimizer.state_dict(),
                        scheduler=scheduler.state_dict() if scheduler is not None else {},
                        torch_rng=torch.get_rng_state(),
                        numpy_rng=rng_after_epoch.pop(epoch),
                        best_loss=best_loss,
                        best_epoch=best_epoch,
                        stale=stale,
                        history=rows,
                        best_model=best_weights,
                    ),
                    improved,
                )
            if where.world > 1:
                torch.distributed.barrier()
            epoch_seconds.append(row["seconds"])
            (log.info if where.main else log.debug)(
                "epoch %d/%d  train %.4f  val %.4f%s  lr %.2e  %.1fs%s",
                epoch + 1,
                settings.epochs,
                train_loss,
                val_loss,
                " (best)" if improved else "",
                row["lr"],
                row["seconds"],
                _time_left(epoch_seconds, settings.epochs - epoch - 1),
            )
            if patience is not None and stale >= patience:
                log.info(
                    "no better validation loss for %d epoch(s): stopping early (TRAIN.PATIENCE)",
                    stale,
                )
                break
    finally:
        if made_elsewhere is not None:
            made_elsewhere.close()

    if best_epoch < 0:
        raise RuntimeError(
            f"no epoch was trained ({settings.epochs} epoch(s), resume state at "
            f"epoch {start_epoch})"
        )
    if where.world > 1:
        torch.distributed.destroy_process_group()
    return TrainOutcome(
        history=rows,
        best_weights=best_weights,
        last_weights=_cpu_copy(network.state_dict()),
        epochs=epoch + 1,
        best_epoch=best_epoch + 1,
        best_val_loss=best_loss,
        seconds=time.time() - started,
        resumed_from=start_epoch,
        processes=where.world,
        main=where.main,
        validation_cells=[[tuple(int(v) for v in start) for start in cells] for cells in validated],
    )
