"""The architecture registry: a MODEL.ARCHITECTURE name and the builder of its network."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..settings import ModelSpec

Builder = Callable[[ModelSpec], torch.nn.Module]

#: architecture name -> builder of the network from its spec
ARCHITECTURES: dict[str, Builder] = {}


def register_architecture(name: str) -> Callable[[Builder], Builder]:
    """Register a network builder under a MODEL.ARCHITECTURE name."""

    def register(builder: Builder) -> Builder:
        if name in ARCHITECTURES:
            raise ValueError(f"an architecture named {name!r} is already registered")
        ARCHITECTURES[name] = builder
        return builder

    return register
