"""Where each channel code sits in the network output and in the training targets.

Most codes are one plane; R has one per ray, A one per neighbour offset, E offsets,
sigma and seediness. E's training targets carry the instance ids in front of its
planes (the EmbedSeg loss needs instance membership). numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..channels import ENCODERS
from ..labels import check_labels


@dataclass(frozen=True)
class CodeLayout:
    code: str
    kind: str  # binary, regression or embedding
    outputs: slice
    targets: slice
    masked: bool


@dataclass(frozen=True)
class ChannelLayout:
    codes: tuple[str, ...]
    options: dict
    ndim: int
    planes: tuple[str, ...]
    activations: tuple[str, ...]
    parts: tuple[CodeLayout, ...]

    @property
    def reencode(self) -> bool:
        # instance centres, ray directions, neighbour offsets: augmented patches are encoded
        # again from their transformed labels
        return any(ENCODERS[c].reencode for c in self.codes)

    def training_targets(self, labels: np.ndarray) -> np.ndarray:
        """(K, *spatial) float32 targets for ``labels`` in this layout's order."""
        labels = check_labels(labels)
        parts = []
        for code in self.codes:
            encoded = ENCODERS[code](labels, **self.options[code])
            if code == "E":
                encoded = np.concatenate([labels[np.newaxis].astype(np.float32), encoded])
            parts.append(encoded)
        return np.concatenate(parts).astype(np.float32, copy=False)


def channel_layout(codes: list[str], extra_options: dict, ndim: int) -> ChannelLayout:
    options = {c: ENCODERS[c].resolve_options(extra_options.get(c, {}) or {}, ndim) for c in codes}
    planes, activations, parts = [], [], []
    target_start = 0
    for code in codes:
        encoder = ENCODERS[code]
        names = encoder.planes(options[code], ndim)
        width = len(names) + (1 if code == "E" else 0)
        parts.append(
            CodeLayout(
                code,
                encoder.kind,
                slice(len(planes), len(planes) + len(names)),
                slice(target_start, target_start + width),
                encoder.masked(options[code]),
            )
        )
        planes += names
        activations += encoder.plane_activations(options[code], ndim)
        target_start += width
    return ChannelLayout(
        tuple(codes), options, ndim, tuple(planes), tuple(activations), tuple(parts)
    )
