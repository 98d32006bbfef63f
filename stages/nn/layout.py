"""Where each channel code sits in the network output and in the training targets.

Most codes are one plane; R has one per ray, A one per neighbour offset, E offsets,
sigma and seediness. E's training targets carry the instance ids in front of its
planes (the EmbedSeg loss needs instance membership). With more than two classes
(DATA.N_CLASSES) a class head follows: one softmax plane per class ("class 0" is the
background), one target plane of class ids. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..channels import ENCODERS
from ..labels import check_labels


@dataclass(frozen=True)
class CodeLayout:
    code: str
    kind: str  # binary, regression, embedding or class
    outputs: slice
    targets: slice
    masked: bool
    squared: bool = False  # regression learnt with the squared error (flows), else L1


@dataclass(frozen=True)
class ChannelLayout:
    codes: tuple[str, ...]
    options: dict
    ndim: int
    planes: tuple[str, ...]
    activations: tuple[str, ...]
    parts: tuple[CodeLayout, ...]
    n_classes: int = 2

    @property
    def reencode(self) -> bool:
        # instance centres, ray directions, neighbour offsets: augmented patches are encoded
        # again from their transformed labels
        return any(ENCODERS[c].reencode for c in self.codes)

    @property
    def class_planes(self) -> int:
        """How many output planes the class head has (0 without classes)."""
        return self.n_classes if self.n_classes > 2 else 0

    def training_targets(self, labels: np.ndarray, classes: np.ndarray | None = None) -> np.ndarray:
        """(K, *spatial) float32 targets for ``labels`` (and their ``classes`` when this
        layout has a class head) in this layout's order."""
        labels = check_labels(labels)
        parts = []
        for code in self.codes:
            encoded = ENCODERS[code](labels, **self.options[code])
            if code == "E":
                encoded = np.concatenate([labels[np.newaxis].astype(np.float32), encoded])
            parts.append(encoded)
        if self.class_planes:
            if classes is None:
                raise ValueError(
                    f"{self.n_classes} classes need labels with a class channel (ids, classes)"
                )
            parts.append(class_targets(labels, classes, self.n_classes))
        return np.concatenate(parts).astype(np.float32, copy=False)


def class_targets(labels: np.ndarray, classes: np.ndarray, n_classes: int) -> np.ndarray:
    """(1, *spatial) class ids to learn: 0 on background, each instance its class.

    ValueError when a class id is not below ``n_classes``.
    """
    highest = int(classes.max(initial=0))
    if highest >= n_classes:
        raise ValueError(
            f"class id {highest} found, but DATA.N_CLASSES is {n_classes} (ids 0..{n_classes - 1})"
        )
    return np.where(labels > 0, classes, 0)[np.newaxis].astype(np.float32)


def class_plane_names(n_classes: int) -> list[str]:
    """The class head's plane names ("class 0" .. ), none for two classes."""
    return [f"class {k}" for k in range(n_classes)] if n_classes > 2 else []


def channel_layout(
    codes: list[str],
    extra_options: dict,
    ndim: int,
    n_classes: int = 2,
    losses: dict[str, str] | None = None,
) -> ChannelLayout:
    """Where each code's planes sit; ``losses``: a regression code's loss by name where it is
    not its own ('mse' squared, 'l1'/'mae' absolute; DATA_CHANNELS_LOSSES)."""
    losses = losses or {}
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
                losses[code] == "mse" if code in losses else encoder.squared,
            )
        )
        planes += names
        activations += encoder.plane_activations(options[code], ndim)
        target_start += width
    names = class_plane_names(n_classes)
    if names:
        outputs = slice(len(planes), len(planes) + len(names))
        parts.append(
            CodeLayout("class", "class", outputs, slice(target_start, target_start + 1), False)
        )
        planes += names
        activations += ["softmax"] * len(names)
    return ChannelLayout(
        tuple(codes), options, ndim, tuple(planes), tuple(activations), tuple(parts), n_classes
    )
