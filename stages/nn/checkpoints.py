"""A training run's resume state on disk: ``<model>/resume/last.pt`` and ``best.pt``.

Both are written atomically after each epoch (``best.pt`` when the epoch was the best so far,
before ``last.pt``), so a killed run continues from its last finished epoch. The state is
stamped with two digests, one of the settings and one of the inputs' contents: a rerun
resumes only when both match, and otherwise starts over and says which one changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Iterable
from pathlib import Path

import torch

from ..io import atomic_output
from .train import TrainState

log = logging.getLogger("segpipe.train")


def settings_digest(settings: dict) -> str:
    """A digest of everything that shapes training besides the data (JSON-able values)."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def files_digest(files: Iterable[tuple[str, Path]]) -> str:
    """A digest of the named roles and the byte contents of ``(role, path)`` pairs, in order.

    A folder (a Zarr image) counts by the names, sizes and modification times of the files
    under it: hashing the bytes of a volume larger than memory would read all of it before
    training starts, while training itself reads only its patches."""
    total = hashlib.sha256()
    for role, path in files:
        total.update(f"{role}\0{Path(path).name}\0".encode())
        one = hashlib.sha256()
        if Path(path).is_dir():
            for inner in sorted(p for p in Path(path).rglob("*") if p.is_file()):
                stat = inner.stat()
                name = inner.relative_to(path).as_posix()
                one.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
        else:
            with open(path, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    one.update(chunk)
        total.update(one.digest())
    return total.hexdigest()


class ResumeFolder:
    """The resume state of one model folder, for one pair of settings and input digests."""

    def __init__(self, model_dir: Path, settings: str, inputs: str) -> None:
        self.folder = Path(model_dir) / "resume"
        self.digests = {"settings_digest": settings, "inputs_digest": inputs}

    @property
    def last(self) -> Path:
        return self.folder / "last.pt"

    @property
    def best(self) -> Path:
        return self.folder / "best.pt"

    def load(self, device: torch.device | str = "cpu") -> TrainState | None:
        """The saved state when it was written for the same settings and inputs, else None.

        The log says why a state on disk is not used.
        """
        if not self.last.exists():
            return None
        saved = torch.load(self.last, map_location=device, weights_only=True)
        changed = [
            what
            for what, key in (("settings", "settings_digest"), ("training data", "inputs_digest"))
            if saved.get(key) != self.digests[key]
        ]
        if changed:
            log.info(
                "not resuming from %s: the %s changed since it was written; training from the "
                "first epoch",
                self.last,
                " and the ".join(changed),
            )
            return None
        best = torch.load(self.best, map_location=device, weights_only=True)["model"]
        log.info("resuming from %s", self.last)
        return TrainState.from_file(saved, best)

    def save(self, state: TrainState, improved: bool) -> None:
        if improved:
            with atomic_output(self.best) as temporary:
                torch.save({"model": state.best_model}, temporary)
        with atomic_output(self.last) as temporary:
            torch.save({**state.to_file(), **self.digests}, temporary)

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
