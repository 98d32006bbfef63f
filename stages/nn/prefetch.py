"""Training batches drawn one step ahead, so that sampling and augmenting overlap the GPU step."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import torch

Tensors = Sequence[torch.Tensor]

#: how long (seconds) a thread may hold the interpreter while the other waits, when batches
#: are drawn in the background: the training thread gives the interpreter up at every kernel
#: launch and, at Python's default of 5 ms, waits that long to get it back from the drawing
#: thread for each of its hundreds of launches a step (benchmarks/RESULTS.md, 2026-12-04)
SWITCH_INTERVAL = 1e-4


def prefetched(
    draw: Callable[[], Tensors],
    count: int,
    device: torch.device,
    *,
    background: bool | None = None,
    switch_interval: float | None = SWITCH_INTERVAL,
) -> Iterator[Tensors]:
    """The results of ``count`` calls of ``draw``, in order, each drawn while the one before
    is being used.

    ``draw`` runs in one background thread, one call at a time, so whatever random state it
    reads is advanced exactly as in a plain loop and no further than ``count`` draws: the
    batches, and a resumed run, are the same. On a CUDA device the thread queues its uploads
    and augmentation kernels on a stream of its own, which the training stream waits for
    only when the batch is used; with the training step's kernels on the GPU and the next
    batch's sampling on the CPU, a step costs the longer of the two rather than their sum
    (benchmarks/RESULTS.md, bench_augment.py). ``background``: draw in the thread; by default
    only on a CUDA device, since on the CPU the thread would take cores from torch's own.
    ``switch_interval``: Python's thread switch interval while the thread runs (None: as it
    is); the one before is restored at the end.
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
