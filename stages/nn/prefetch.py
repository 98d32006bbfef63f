"""Training batches drawn one step ahead, so that sampling and augmenting overlap the GPU step."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import torch

Tensors = Sequence[torch.Tensor]

#: how long (seconds) a thread may hold the interpreter while the other waits, when batches
#: are drawn in the background: the training thread gives the interpreter up at every kernel
#: launch and may wait that long to get it back from the drawing thread (on the H200 the
#: demo's step without augmentation took 12.0 ms at 0.1 ms, 14.0 at Python's default of 5 ms
#: and 15.6 drawn in turn: benchmarks/RESULTS.md, 2026-12-04)
SWITCH_INTERVAL = 1e-4
#: batch augmentations (beyond flips and quarter turns) up to which the next batch is drawn
#: in a thread on a GPU: with BiaPy's templates' one (RANDOM_ROT) the demo's step took 18.1
#: ms against 26.7 in turn; with seven or more, drawing competes with the training thread for
#: the interpreter and in turn was 11-18% faster (benchmarks/RESULTS.md, 2026-12-04)
LIGHT_AUGMENTATION = 1


def draws_ahead(device: torch.device, batch_augmentations: int) -> bool:
    """Whether :func:`prefetched` should draw in the background: on a CUDA device, when the
    batches get at most :data:`LIGHT_AUGMENTATION` augmentations in torch."""
    return device.type == "cuda" and batch_augmentations <= LIGHT_AUGMENTATION


def prefetched(
    draw: Callable[[], Tensors],
    count: int,
    device: torch.device,
    *,
    background: bool | None = None,
    switch_interval: float | None = SWITCH_INTERVAL,
) -> Iterator[Tensors]:
    """The results of ``count`` calls of ``draw``, in order.

    With ``background``, each is drawn while the one before is being used, in one background
    thread, one call at a time, so whatever random state ``draw`` reads is advanced exactly as
    in a plain loop and no further than ``count`` draws: the batches, and a resumed run, are
    the same. On a CUDA device the thread queues its uploads and augmentation kernels on a
    stream of its own, which the training stream waits for only when the batch is used; the
    next batch's sampling on the CPU then overlaps the training step's kernels on the GPU
    (benchmarks/RESULTS.md, bench_augment.py). ``background`` defaults to a CUDA device
    only, since on the CPU the thread would take cores from torch's own (:func:`draws_ahead`
    also weighs the augmentations). ``switch_interval``: Python's thread switch interval
    while the thread runs (None: as it is); the one before is restored at the end.
    """
    if background is None:
        background = device.type == "cuda"
    if not background:
        for _ in range(count):
            yield draw()
        return
    stream = torch.cuda.Stream(device) if device.type == "cuda" else None

    def drawn() -> tuple[Tensors, torch.cuda.Event | None]:
        if stream is None:
            return draw(), None
        with torch.cuda.stream(stream):
            tensors = draw()
            ready = torch.cuda.Event()
            ready.record(stream)
        return tensors, ready

    interval = sys.getswitchinterval()
    if switch_interval is not None:
        sys.setswitchinterval(switch_interval)
    try:
        yield from _in_background(drawn, count, device)
    finally:
        sys.setswitchinterval(interval)


def _in_background(drawn, count: int, device: torch.device) -> Iterator[Tensors]:
    with ThreadPoolExecutor(1, thread_name_prefix="segpipe-batches") as pool:
        pending = pool.submit(drawn) if count else None
        for index in range(count):
            tensors, ready = pending.result()
            if index + 1 < count:
                pending = pool.submit(drawn)
            if ready is not None:
                training = torch.cuda.current_stream(device)
                training.wait_event(ready)
                for tensor in tensors:
                    # made on the other stream: not reused before the training stream is done
                    tensor.record_stream(training)
            yield tensors
