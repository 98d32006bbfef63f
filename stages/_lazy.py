"""Modules imported on first use, so that a stage's start-up skips what only other stages need."""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """Stands for the module ``name`` and imports it at the first attribute asked of it.

    ``segpipe predict`` reaches the channel encoders only for their metadata (which planes
    flip as vectors); their scipy and scikit-image, about a second of start-up, load only when
    a label image is encoded. Not a module object and not in ``sys.modules`` (importlib's own
    LazyLoader is, and torch's start-up walks ``sys.modules``, which would load it).
    """

    def __init__(self, name: str) -> None:
        self.__dict__["_name"] = name

    def __getattr__(self, attribute: str) -> Any:
        # only for names not yet copied: after the import, lookups are plain attribute reads
        module = importlib.import_module(self.__dict__["_name"])
        self.__dict__.update(vars(module))
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<lazily imported module {self.__dict__['_name']!r}>"


def lazy_import(name: str) -> Any:
    """``name``, imported when first used (:class:`LazyModule`)."""
    return LazyModule(name)
