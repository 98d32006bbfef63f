"""Training batches made in worker processes while the training process runs its steps.

A batch is drawn in two parts. Its recipe (which patches, where, their flips and quarter
turns, the augmentation's seed) takes every random draw of the batch from the sampler's
state: it is drawn in the training process, in order, so the batches of an epoch and a
resumed run are the same however many workers there are. Making the batch from its recipe
(cutting the patches, flipping, augmenting in torch, encoding moved labels again) reads no
random state and is the costly part: with workers it runs in other processes, on the CPU,
so on a GPU the step's kernel launches no longer wait for it (a thread could not do that: it
shares the interpreter with the training thread, benchmarks/RESULTS.md, 2026-12-04 H200).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import queue
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..threads import limit_threads
from .augment.batch import augment_patches
from .augment.settings import AugmentSettings
from .data import PatchPlan, PatchSampler, Sample, cut_patches

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]

#: worker processes that SYSTEM.NUM_WORKERS -1 starts at most (BiaPy's cap too): each holds
#: a few batches and, with the CPU augmentation, one core
AUTOMATIC_WORKERS_CAP = 8
#: batches made ahead per worker (each in a slot of shared memory of its own)
SLOTS_PER_WORKER = 2
#: shared memory (bytes) the slots of automatically counted workers may take: large 3D
#: patches get fewer workers (a batch of 4 patches of 64x256x256 with 5 channels is 470 MB)
AUTOMATIC_SLOTS_BYTES = 4 << 30


def float_tensor(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """``array`` as a float32 tensor on ``device``."""
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(device)


@dataclass(frozen=True)
class BatchRecipe:
    """Every random choice of one training batch."""

    patches: tuple[PatchPlan, ...]
    augment_seed: int | None = None  # None: no augmentation in torch


@dataclass
class BatchMaker:
    """Makes training batches from recipes: patches cut, flipped and turned, augmented.

    ``reencode``: encodes a patch's targets from its labels (and classes) after flips and
    turns, when the codes must be (None: the targets are flipped and turned themselves);
    ``encode`` encodes the targets of patches whose labels the torch augmentations moved.
    """

    samples: Sequence[Sample]
    augment: AugmentSettings | None
    codes: Sequence[str]
    reencode: Callable | None
    encode: Callable

    @classmethod
    def for_layout(cls, samples: Sequence[Sample], augment: AugmentSettings | None, layout):
        """The maker of batches of ``samples`` with the targets of a
        :class:`~stages.nn.layout.ChannelLayout`."""
        reencode = layout.training_targets if layout.reencode else None
        return cls(samples, augment, layout.planes, reencode, layout.training_targets)

    def batch_values(self, size: int, patch: Sequence[int]) -> int:
        """The float32 values of a batch of ``size`` patches: images, targets, foreground."""
        sample = self.samples[0]
        planes = sample.image.shape[0] + sample.targets.shape[0] + 1
        return size * planes * math.prod(patch)

    def make(self, recipe: BatchRecipe, device: torch.device) -> Batch:
        """(images, targets, foreground) of the recipe's batch, float32 tensors on ``device``."""
        batch = cut_patches(
            self.samples, recipe.patches, bool(self.augment), self.codes, self.reencode
        )
        if recipe.augment_seed is not None:
            return augment_patches(batch, self.augment, self.encode, recipe.augment_seed, device)
        return tuple(
            float_tensor(a, device) for a in (batch.images, batch.targets, batch.foreground)
        )


def recipe_drawer(
    sampler: PatchSampler, size: int, augment: AugmentSettings | None, codes, reencoded: bool
) -> Callable[[], BatchRecipe]:
    """Draws the recipes of batches of ``size`` patches from ``sampler``'s random state, each
    with an augmentation seed when ``augment`` has augmentations in torch. ``codes``: the
    targets' planes; ``reencoded``: whether they are encoded again from turned labels."""
    rotatable = sampler.rotatable(codes, reencoded)
    in_torch = augment is not None and augment.on_batches

    def draw() -> BatchRecipe:
        plans = tuple(sampler.plan(size, augment, rotatable))
        return BatchRecipe(plans, int(sampler.rng.integers(2**62)) if in_torch else None)

    return draw


def worker_count(
    setting: int, device: torch.device, cpus: int | None = None, batch_bytes: int = 0
) -> int:
    """Worker processes for SYSTEM.NUM_WORKERS ``setting``: itself when 0 or more; -1: on a
    CUDA device one per CPU the training process may use beyond its own (``cpus``: those
    given to it; None: its CPU affinity), at most :data:`AUTOMATIC_WORKERS_CAP` and as many
    as the slots of ``batch_bytes`` each fit in :data:`AUTOMATIC_SLOTS_BYTES` (at least
    one); on the CPU none, as torch's threads already use the cores for the step."""
    if setting >= 0:
        return setting
    if device.type != "cuda":
        return 0
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    count = min(AUTOMATIC_WORKERS_CAP, (cpus or 1) - 1)
    if batch_bytes and count > 0:
        count = min(count, max(1, AUTOMATIC_SLOTS_BYTES // (SLOTS_PER_WORKER * batch_bytes)))
    return max(0, count)


def recipe_stream(
    sampler: PatchSampler,
    draw: Callable[[], BatchRecipe],
    steps: int,
    epochs: Iterable[int],
    states: dict[int, dict],
    reseed: Callable[[int], None] | None = None,
) -> Iterator[BatchRecipe]:
    """The recipes of ``steps`` batches for each of ``epochs``, one stream, so that batches
    may be made ahead across an epoch's end (while the epoch is validated).

    Parameters
    ----------
    states : filled with the sampler's random state after each epoch's last recipe (what a
        resumed run starts the next epoch from), before that recipe is given.
    reseed : called at each epoch's start (another training process's own random state).
    """
    for epoch in epochs:
        if reseed is not None:
            reseed(epoch)
        for step in range(steps):
            recipe = draw()
            if step == steps - 1:
                states[epoch] = sampler.rng.bit_generator.state
            yield recipe


#: seconds between checks that the workers (in the training process) or the training process
#: (in a worker) are still alive, while waiting
LIVENESS_SECONDS = 2.0


def _start_method() -> str:
    # fork shares the training images with the workers without a copy; elsewhere (macOS,
    # Windows), or when numba may run its kernels on OpenMP (a user's NUMBA_THREADING_LAYER:
    # a forked worker hangs in them), the workers are spawned and get the images pickled
    forkable = "fork" in multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and forkable and _fork_safe_kernels():
        return "fork"
    return "spawn"


#: numba threading layers a forked process may run kernels on
FORK_SAFE_LAYERS = ("forksafe", "safe", "workqueue", "tbb")


def _fork_safe_kernels() -> bool:
    numba = sys.modules.get("numba")
    if numba is not None:
        return numba.config.THREADING_LAYER in FORK_SAFE_LAYERS
    return os.environ.get("NUMBA_THREADING_LAYER", "default") in FORK_SAFE_LAYERS


def _pack(made: Batch, slot: torch.Tensor) -> list[tuple[int, ...]]:
    """Write a batch's tensors one after the other into the flat ``slot``; their shapes."""
    offset = 0
    for tensor in made:
        size = tensor.numel()
        if offset + size > slot.numel():
            raise ValueError(
                f"a training batch of {sum(t.numel() for t in made)} values does not fit the "
                f"{slot.numel()} of a worker's slot: the patches' channels differ between images"
            )
        slot[offset : offset + size].view(tensor.shape).copy_(tensor)
        offset += size
    return [tuple(t.shape) for t in made]


def _unpack(slot: torch.Tensor, shapes: Sequence[tuple[int, ...]], device: torch.device) -> Batch:
    """The batch written into ``slot``, copied out in one piece: uploaded to a GPU (from
    pageable memory: the slot is free when the call returns), cloned on the CPU."""
    sizes = [math.prod(shape) for shape in shapes]
    packed = slot[: sum(sizes)]
    packed = packed.clone() if device.type == "cpu" else packed.to(device)
    return tuple(part.view(*shape) for part, shape in zip(packed.split(sizes), shapes))


def _work(maker: BatchMaker, slots: Sequence[torch.Tensor], tasks, done, parent: int) -> None:
    """A worker's loop: make the batch of each (index, slot, recipe) task into its slot."""
    torch.set_num_threads(1)  # one core each: the others are the other workers'
    limit_threads(1)
    cpu = torch.device("cpu")
    try:
        while True:
            try:
                task = tasks.get(timeout=LIVENESS_SECONDS)
            except queue.Empty:
                if os.getppid() != parent:  # the training process is gone: so is its reader
                    done.cancel_join_thread()
                    return
                continue
            if task is None:
                return
            index, slot, recipe = task
            try:
                done.put((index, slot, _pack(maker.make(recipe, cpu), slots[slot]), None))
            except Exception as error:  # raised in the training process, where it is used
                done.put((index, slot, None, error))
    except KeyboardInterrupt:
        pass  # Ctrl-C reaches every process of the group: the training process reports it


class BatchWorkers:
    """Worker processes that make the batches of a stream of recipes, in order, a few ahead
    of the one in use; they start at once and end at :meth:`close`.

    Each worker writes a batch into a slot of shared memory made before it started, so that
    taking a batch costs the training process one small message and one copy out of the slot
    (to the device); the slot is given the next recipe at once.

    Parameters
    ----------
    maker : what makes a batch from a recipe (the workers get it when they start).
    recipes : the recipes (:func:`recipe_stream`), drawn in the training process.
    count : how many there are.
    workers : how many processes.
    device : where the batches go.
    values : the most float32 values a batch holds (images, targets and foreground).
    """

    def __init__(
        self,
        maker: BatchMaker,
        recipes: Iterator[BatchRecipe],
        count: int,
        workers: int,
        device: torch.device,
        values: int,
    ):
        context = multiprocessing.get_context(_start_method())
        self.device, self.recipes, self.count = device, recipes, count
        self.slots = [
            torch.empty(values, dtype=torch.float32).share_memory_()
            for _ in range(SLOTS_PER_WORKER * workers)
        ]
        self.tasks, self.done = context.Queue(), context.Queue()
        self.processes = [
            context.Process(
                target=_work,
                args=(maker, self.slots, self.tasks, self.done, os.getpid()),
                name=f"segpipe-batches-{n}",
                daemon=True,
            )
            for n in range(workers)
        ]
        for process in self.processes:
            process.start()
        self.batches = self._batches()

    def _batches(self) -> Iterator[Batch]:
        free, sent, ready = list(range(len(self.slots))), 0, {}

        def send() -> None:
            # every free slot gets the next recipe at once
            nonlocal sent
            while free and sent < self.count:
                self.tasks.put((sent, free.pop(), next(self.recipes)))
                sent += 1

        send()
        for index in range(self.count):
            while index not in ready:
                number, slot, shapes, error = self._next_done()
                ready[number] = slot, shapes, error
            slot, shapes, error = ready.pop(index)
            if error is not None:
                raise error
            batch = _unpack(self.slots[slot], shapes, self.device)
            free.append(slot)
            send()
            yield batch

    def _next_done(self):
        while True:
            try:
                return self.done.get(timeout=LIVENESS_SECONDS)
            except queue.Empty:
                ended = [p for p in self.processes if not p.is_alive()]
                if ended:
                    raise RuntimeError(
                        f"a training batch worker ended unexpectedly (exit code "
                        f"{ended[0].exitcode}); out of memory, or of shared memory (/dev/shm)? "
                        "Set SYSTEM.NUM_WORKERS lower, or 0 to make batches in the training "
                        "process"
                    ) from None

    def take(self, count: int) -> Iterator[Batch]:
        """The next ``count`` batches, on the device."""
        for _ in range(count):
            yield next(self.batches)

    def close(self) -> None:
        """End the workers."""
        for _ in self.processes:
            self.tasks.put(None)
        for process in self.processes:
            process.join(timeout=LIVENESS_SECONDS * 2)
            if process.is_alive():
                process.terminate()
                process.join()
        self.tasks.cancel_join_thread()  # what the workers did not take is dropped
        for channel in (self.tasks, self.done):
            channel.close()
