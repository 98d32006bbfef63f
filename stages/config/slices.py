"""A stage's config slice: the keys its settings builder read, closed under the checks."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from .checks import CHECKS
from .keys import get, set_key


class RecordingConfig(Mapping):
    """A read-only view of a resolved config that notes the dotted path of every value read.

    A stage's settings builder reads its config through one; the paths it read make the
    stage's config slice (:func:`slice_of`), so the slice follows what the code reads.
    """

    def __init__(self, data: Mapping, path: str = "", seen: set[str] | None = None) -> None:
        self._data, self._path = data, path
        self.seen: set[str] = set() if seen is None else seen

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        path = f"{self._path}.{key}" if self._path else str(key)
        if isinstance(value, Mapping):
            return RecordingConfig(value, path, self.seen)
        self.seen.add(path)
        return copy.deepcopy(value)

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def whole(section: Mapping) -> dict:
    """A plain deep copy of a config section, read as a whole (all of it joins the slice)."""
    if isinstance(section, RecordingConfig):
        section.seen.add(section._path)
        return copy.deepcopy(dict(section._data))
    return copy.deepcopy(dict(section))


def slice_of(config: dict, read: set[str]) -> dict:
    """The part of a resolved ``config`` at the dotted paths ``read``, closed under the checks.

    A check that reads one of the paths brings every key it reads, so the slice is a
    config that passes the same checks (``DATA.VAL.FROM_TRAIN`` brings ``DATA.VAL.PATH``).
    """

    def related(a: str, b: str) -> bool:
        return a == b or a.startswith(b + ".") or b.startswith(a + ".")

    paths = set(read)
    grown = True
    while grown:
        grown = False
        for rule in CHECKS:
            needed = set(rule.reads) | set(rule.context)
            if any(related(p, r) for p in paths for r in rule.reads) and not needed <= paths:
                paths |= needed
                grown = True
    sliced: dict = {}
    for dotted in sorted(paths):
        set_key(sliced, dotted, copy.deepcopy(get(config, dotted)))
    return sliced
