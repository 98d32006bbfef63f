"""Validation split, random patch sampling and flips/rot90 (numpy only).

Images are held channel first, (C, [Z,] Y, X), like the targets. Offsets H/V/Z are
vectors: a flip or rotation of the patch also flips or rotates them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..channels import ENCODERS, plane_code
from .augment.settings import AugmentSettings
from .lazy_samples import is_lazy


def _vector_axes() -> dict[str, int]:
    """Plane name -> spatial axis of each vector plane (H, V, Z, E's offsets), from the registry."""
    return {name: axis for e in ENCODERS.values() for name, axis in e.vector_axes.items()}


def _rotation_pairs() -> list[tuple[str, str, bool]]:
    """(Y plane, X plane, is a vector) pairs that quarter turns in Y-X exchange."""
    return [
        (y, x, vector) for e in ENCODERS.values() for y, (x, vector) in e.rotation_partners.items()
    ]


# --------------------------------------------------------------------- transforms
def flip_and_rotate(
    array: np.ndarray, flips: Sequence[int], k: int, codes: Sequence[str] | None = None
) -> np.ndarray:
    """Flip the given spatial axes (negative indices), then rotate by k*90 degrees in Y-X.

    ``array`` is (C, *spatial); when ``codes`` names its channels, H/V/Z are turned with it.
    """
    out = np.flip(array, axis=tuple(flips)) if flips else array
    if codes is not None:
        out = out.copy()
        index = {c: i for i, c in enumerate(codes)}
        for axis in flips:
            for code, vector_axis in _vector_axes().items():
                if code in index and vector_axis == axis:
                    out[index[code]] *= -1
    if k % 4:
        out = np.rot90(out, k, axes=(-2, -1))
        if codes is not None:
            out = _rotate_offsets(out, codes, k)
    return np.ascontiguousarray(out)


def _rotate_offsets(array: np.ndarray, codes: Sequence[str], k: int) -> np.ndarray:
    # np.rot90 on (Y, X) maps a displacement (dy, dx) to (-dx, dy) per quarter turn
    out = array.copy()
    codes = list(codes)
    for y_name, x_name, vector in _rotation_pairs():
        if y_name not in codes or x_name not in codes:
            continue
        y, x = codes.index(y_name), codes.index(x_name)
        for _ in range(k % 4):
            dy, dx = out[y].copy(), out[x].copy()
            out[y], out[x] = (-dx, dy) if vector else (dx, dy)
    return out


def invert_flip_and_rotate(
    array: np.ndarray, flips: Sequence[int], k: int, codes: Sequence[str] | None = None
) -> np.ndarray:
    """Undo :func:`flip_and_rotate` (rotate back, then flip)."""
    out = array
    if k % 4:
        out = np.rot90(out, -k, axes=(-2, -1))
        if codes is not None:
            out = _rotate_offsets(out, codes, -k % 4)
    return flip_and_rotate(np.ascontiguousarray(out), flips, 0, codes)


def tta_transforms(
    ndim: int, square: bool, codes: Sequence[str]
) -> list[tuple[tuple[int, ...], int]]:
    """8 flips/rotations in 2D, 16 in 3D (Z flipped, never swapped); flips only when Y != X.

    Rays (R) and affinities (A) do not transform plane by plane: only the identity then.
    """
    if not all(ENCODERS[plane_code(c)].equivariant for c in codes):
        return [((), 0)]
    rotations = range(4) if square and not (("H" in codes) ^ ("V" in codes)) else (0, 2)
    x_flips = ((), (-1,))
    z_flips = ((), (-3,)) if ndim == 3 else ((),)
    transforms = []
    for k, fx, fz in itertools.product(rotations, x_flips, z_flips):
        if k == 2 and not square:
            transforms.append((fx + fz + (-2,), 0))
        else:
            transforms.append((fx + fz, k))
    return transforms


# --------------------------------------------------------------------- sampling
def _box_sums(mask: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Sum of ``mask`` in every window of ``size`` (valid positions only), by a summed-area
    table."""
    table = np.pad(mask.astype(np.int64), [(1, 0)] * mask.ndim).cumsum(axis=0)
    for axis in range(1, mask.ndim):
        table = table.cumsum(axis=axis)
    out_shape = tuple(s - w + 1 for s, w in zip(mask.shape, size))
    total = np.zeros(out_shape, dtype=np.int64)
    for corner in itertools.product((0, 1), repeat=mask.ndim):
        sign = (-1) ** (mask.ndim - sum(corner))
        box = tuple(
            slice(w if c else 0, (w if c else 0) + o) for c, w, o in zip(corner, size, out_shape)
        )
        total += sign * table[box]
    return total


def pad_to_patch(array: np.ndarray, patch: Sequence[int]) -> np.ndarray:
    """Reflect-pad the trailing spatial axes of (C, *spatial) up to at least ``patch``."""
    spatial = array.shape[-len(patch) :]
    widths = [(0, 0)] * (array.ndim - len(patch)) + [
        (0, max(0, p - s)) for s, p in zip(spatial, patch)
    ]
    if not any(w[1] for w in widths):
        return array
    return np.pad(array, widths, mode="symmetric")


@dataclass
class Sample:
    image: np.ndarray  # (C_in, *spatial) normalised
    targets: np.ndarray  # (K, *spatial)
    foreground: np.ndarray  # (*spatial) bool
    labels: np.ndarray | None = (
        None  # (*spatial) instance ids, for codes encoded again after augmentation
    )
    classes: np.ndarray | None = None  # (*spatial) class ids, with labels, for a class head
    # for FILTER_SAMPLES only: the raw pixels (C_in, *spatial) and the instance ids (*spatial),
    # kept when a filter tests them (arrays, or lazy ones read region by region)
    raw: Any = None
    filter_labels: Any = None


#: patches drawn for one accepted patch before FILTER_SAMPLES is said to leave out everything
FILTER_DRAWS = 1000


def leaves_out(sample: Sample, box: tuple[slice, ...], sample_filter) -> bool:
    """Whether ``sample_filter`` (:class:`stages.nn.sample_filter.SampleFilter`) leaves out
    the patch ``box`` of ``sample``: its raw or normalised pixels, its ids or foreground."""
    image = sample.raw if sample_filter.needs_raw else sample.image
    labels = sample.filter_labels if sample.filter_labels is not None else sample.foreground
    return sample_filter.leaves_out(np.asarray(image[(slice(None), *box)]), np.asarray(labels[box]))


def filter_cells(
    samples: Sequence[Sample],
    patch: Sequence[int],
    cells: Sequence[Sequence[tuple[int, ...]]],
    sample_filter,
) -> list[list[tuple[int, ...]]]:
    """``cells`` (per sample, patch start corners) without those ``sample_filter`` leaves
    out; ValueError when none is left."""
    kept = [
        [
            start
            for start in starts
            if not leaves_out(
                sample, tuple(slice(s, s + p) for s, p in zip(start, patch)), sample_filter
            )
        ]
        for sample, starts in zip(samples, cells)
    ]
    if not any(kept):
        raise ValueError(
            "DATA.VAL.FILTER_SAMPLES leaves out every validation patch: loosen its conditions"
        )
    return kept


def patch_cell_count(shapes: Sequence[Sequence[int]], patch: Sequence[int]) -> int:
    """How many non-overlapping patch cells images of ``shapes`` hold (one at least each)."""
    return sum(math.prod(max(1, s // p) for s, p in zip(shape, patch)) for shape in shapes)


def _patch_cells(
    shapes: Sequence[Sequence[int]], patch: Sequence[int]
) -> list[tuple[int, tuple[int, ...]]]:
    """(image index, start corner) of every non-overlapping patch cell of the images, in
    order; at least two, else a ValueError (nothing to hold out)."""
    cells = []
    for index, shape in enumerate(shapes):
        counts = [max(1, s // p) for s, p in zip(shape, patch)]
        for cell in itertools.product(*[range(c) for c in counts]):
            cells.append((index, tuple(c * p for c, p in zip(cell, patch))))
    if len(cells) < 2:
        raise ValueError(
            f"the training images hold only {len(cells)} patch of DATA.PATCH_SIZE "
            f"{tuple(patch)}: too few to hold out validation (DATA.VAL.FROM_TRAIN); use smaller "
            "patches or a validation folder"
        )
    return cells


def _held_per_image(
    cells: list[tuple[int, tuple[int, ...]]], chosen, images: int
) -> list[list[tuple[int, ...]]]:
    held: list[list[tuple[int, ...]]] = [[] for _ in range(images)]
    for i in sorted(int(c) for c in chosen):
        image_index, start = cells[i]
        held[image_index].append(start)
    return held


def split_validation(
    shapes: Sequence[Sequence[int]], patch: Sequence[int], fraction: float, rng: np.random.Generator
) -> list[list[tuple[int, ...]]]:
    """Hold out ``fraction`` of the non-overlapping patch cells of all images (at least one).

    Returns, per image, the start corners of its validation cells.
    """
    cells = _patch_cells(shapes, patch)
    count = min(len(cells) - 1, max(1, int(round(fraction * len(cells)))))
    return _held_per_image(cells, rng.choice(len(cells), size=count, replace=False), len(shapes))


def cross_validation_fold(
    shapes: Sequence[Sequence[int]],
    patch: Sequence[int],
    folds: int,
    fold: int,
    rng: np.random.Generator,
) -> list[list[tuple[int, ...]]]:
    """The validation cells of fold ``fold`` (1-based) of ``folds``: the patch cells shuffled
    once and cut into ``folds`` parts of sizes differing by at most one (BiaPy's CROSS_VAL,
    which folds its samples the same way). Per image, the start corners of its cells."""
    cells = _patch_cells(shapes, patch)
    if not 1 <= fold <= folds <= len(cells):
        raise ValueError(
            f"fold {fold} of {folds} (DATA.VAL.CROSS_VAL_FOLD, CROSS_VAL_NFOLD) needs at least "
            f"{folds} patch cells of DATA.PATCH_SIZE {tuple(patch)}; the training images hold "
            f"{len(cells)}"
        )
    parts = np.array_split(rng.permutation(len(cells)), folds)
    return _held_per_image(cells, parts[fold - 1], len(shapes))


def center_probabilities(foreground: np.ndarray, weights: tuple[float, float]) -> np.ndarray:
    """BiaPy's probability map (DATA.TRAIN.PROBABILITY_MAP): the chance of each pixel to be
    drawn as a training patch's centre.

    Objects touching the border (of each Z plane in 3D, as BiaPy clears them) count as
    background; the foreground shares ``weights[0]``, the background ``weights[1]``, evenly
    among their pixels, and the map sums to 1 (uniform when both shares are empty)."""
    from skimage.segmentation import clear_border

    planes = foreground.reshape(-1, *foreground.shape[-2:]).astype(bool)
    inner = np.stack([clear_border(plane) for plane in planes]).reshape(foreground.shape)
    counts = (int(inner.sum()), int(inner.size - inner.sum()))
    shares = [w / c if c else 0.0 for w, c in zip(weights, counts)]
    probabilities = np.where(inner, shares[0], shares[1])
    total = probabilities.sum()
    if total <= 0:
        return np.full(foreground.shape, 1.0 / foreground.size)
    return probabilities / total


def start_probabilities(centers: np.ndarray, patch: Sequence[int]) -> np.ndarray:
    """The chance of each patch start (over the valid starts, shape ``shape - patch + 1``)
    when the centre is drawn from ``centers`` and the patch kept inside the image as BiaPy
    keeps it: start = centre - patch // 2, clamped to the image."""
    valid = tuple(s - p + 1 for s, p in zip(centers.shape, patch))
    axes = [
        np.clip(np.arange(s) - p // 2, 0, v - 1) for s, p, v in zip(centers.shape, patch, valid)
    ]
    flat = np.ravel_multi_index(np.meshgrid(*axes, indexing="ij"), valid)
    return np.bincount(flat.ravel(), weights=centers.ravel(), minlength=int(np.prod(valid)))


class PatchSampler:
    """Random training patches that never overlap the held-out validation cells."""

    def __init__(
        self,
        samples: Sequence[Sample],
        patch: Sequence[int],
        excluded: Sequence[Sequence[tuple[int, ...]]],
        rng: np.random.Generator,
        sample_filter=None,
        center_weights: tuple[float, float] | None = None,
    ):
        """``sample_filter``: a :class:`stages.nn.sample_filter.SampleFilter`; patches it
        leaves out are drawn again. ``center_weights``: (foreground, background) shares of
        BiaPy's probability map (:func:`center_probabilities`), which then places the
        patches of images held in memory; None: every free start alike."""
        if center_weights is not None and any(is_lazy(x.foreground) for x in samples):
            raise ValueError(
                "DATA.TRAIN.PROBABILITY_MAP needs the training images in memory "
                "(DATA.TRAIN.IN_MEMORY true)"
            )
        self.samples, self.patch, self.rng = samples, tuple(patch), rng
        self.sample_filter = sample_filter
        #: per image, the cumulative chance of its free starts (None: uniform)
        self.cumulative: list[np.ndarray | None] = [None] * len(samples)
        self.valid_shapes = [
            tuple(s - p + 1 for s, p in zip(x.foreground.shape, self.patch)) for x in samples
        ]
        # in memory: every free start position listed; read from disk (the image may not
        # fit, nor a map of its positions): starts drawn and those on a held cell redrawn
        self.positions, self.held = [], []
        for index, (sample, cells) in enumerate(zip(samples, excluded)):
            self.held.append({tuple(s // p for s, p in zip(start, self.patch)) for start in cells})
            if is_lazy(sample.foreground):
                self.positions.append(None)
                continue
            blocked = np.zeros(sample.foreground.shape, dtype=bool)
            for start in cells:
                blocked[tuple(slice(s, s + p) for s, p in zip(start, self.patch))] = True
            valid = _box_sums(blocked, self.patch) == 0
            self.positions.append(np.flatnonzero(valid))
            if center_weights is not None:
                chances = start_probabilities(
                    center_probabilities(sample.foreground, center_weights), self.patch
                )[self.positions[-1]]
                total = chances.sum()
                if total > 0:
                    self.cumulative[index] = np.cumsum(chances / total)
        counts = np.array(
            [
                len(p) if p is not None else self._free_starts(i)
                for i, p in enumerate(self.positions)
            ],
            dtype=np.float64,
        )
        if counts.sum() == 0:
            raise ValueError(
                "no training area is left outside the validation patches (DATA.VAL.SPLIT_TRAIN "
                "too large for these images)"
            )
        self.weights = counts / counts.sum()
        free_volume = sum(
            float(np.prod(x.foreground.shape)) for x, c in zip(samples, counts) if c
        ) - sum(len(e) for e in excluded) * float(np.prod(self.patch))
        self.patches_per_pass = max(1, int(round(free_volume / float(np.prod(self.patch)))))

    def draw(self) -> tuple[int, tuple[slice, ...]]:
        """A random training patch (image index, box) that the sample filter keeps."""
        if self.sample_filter is None:
            return self._draw_any()
        for _ in range(FILTER_DRAWS):
            index, box = self._draw_any()
            if not leaves_out(self.samples[index], box, self.sample_filter):
                return index, box
        raise ValueError(
            f"DATA.TRAIN.FILTER_SAMPLES left out all of {FILTER_DRAWS} patches drawn in a row: "
            "loosen its conditions"
        )

    def _draw_any(self) -> tuple[int, tuple[slice, ...]]:
        index = int(self.rng.choice(len(self.samples), p=self.weights))
        if self.positions[index] is None:
            start = self._free_start(index)
        else:
            positions, cumulative = self.positions[index], self.cumulative[index]
            if cumulative is None:
                chosen = self.rng.integers(len(positions))
            else:
                chosen = min(int(np.searchsorted(cumulative, self.rng.random(), "right")),
                             len(positions) - 1)  # fmt: skip
            start = np.unravel_index(int(positions[chosen]), self.valid_shapes[index])
        return index, tuple(slice(int(s), int(s) + p) for s, p in zip(start, self.patch))

    def _free_start(self, index: int) -> tuple[int, ...]:
        """A uniformly drawn start whose patch overlaps no held-out cell of image ``index``."""
        for _ in range(10000):
            start = tuple(int(self.rng.integers(v)) for v in self.valid_shapes[index])
            if self._is_free(index, start):
                return start
        raise ValueError("no free training patch found outside the validation cells")

    def _is_free(self, index: int, start: Sequence[int]) -> bool:
        touched = itertools.product(
            *(range(s // p, (s + p - 1) // p + 1) for s, p in zip(start, self.patch))
        )
        return not any(cell in self.held[index] for cell in touched)

    def _free_starts(self, index: int, tries: int = 4000) -> int:
        """About how many starts of image ``index`` are free of held cells (the share of
        ``tries`` starts drawn apart from the training draws)."""
        shape = self.valid_shapes[index]
        if not self.held[index]:
            return int(np.prod(shape))
        draws = np.random.default_rng(index).integers(0, shape, size=(tries, len(shape)))
        free = sum(self._is_free(index, start) for start in draws.tolist())
        return int(round(np.prod(shape, dtype=np.float64) * free / tries))

    def plan(self, size: int, augment: AugmentSettings | None, rotatable: bool) -> list[PatchPlan]:
        """Where ``size`` random patches lie and how each is flipped and turned: every draw of
        a batch from the random state, so that :func:`cut_patches` may run anywhere.

        ``rotatable``: quarter turns are allowed (:meth:`rotatable`)."""
        plans = []
        for _ in range(size):
            index, box = self.draw()
            flips, k = (
                random_transform(self.rng, augment, len(self.patch), rotatable)
                if augment
                else ((), 0)
            )
            plans.append(PatchPlan(index, box, flips, k))
        return plans

    def rotatable(self, codes: Sequence[str], reencoded: bool) -> bool:
        """Whether patches may be turned by quarter turns: square in Y-X, and a lone H or V
        (which cannot be rotated into the other) only when the targets are encoded again from
        the turned labels."""
        return self.patch[-1] == self.patch[-2] and (
            reencoded or not (("H" in codes) ^ ("V" in codes))
        )

    def batch(
        self,
        size: int,
        augment: AugmentSettings | None,
        codes: Sequence[str],
        reencode: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> PatchBatch:
        """``size`` random patches (:meth:`plan`, then :func:`cut_patches`)."""
        plans = self.plan(size, augment, self.rotatable(codes, reencode is not None))
        return cut_patches(self.samples, plans, bool(augment), codes, reencode)


@dataclass(frozen=True)
class PatchPlan:
    """One training patch: its image, its box there, and its flips (axes) and quarter turns."""

    index: int
    box: tuple[slice, ...]
    flips: tuple[int, ...] = ()
    k: int = 0


def cut_patches(
    samples: Sequence[Sample],
    plans: Sequence[PatchPlan],
    augmented: bool,
    codes: Sequence[str],
    reencode: Callable[[np.ndarray], np.ndarray] | None = None,
) -> PatchBatch:
    """The planned patches (image, targets, foreground, and the labels and classes when the
    samples keep them), flipped and turned; with ``reencode`` and ``augmented``, the targets
    are encoded from the flipped/turned labels."""
    images, targets, foregrounds, labels, classes = [], [], [], [], []
    for plan in plans:
        sample, box, flips, k = samples[plan.index], plan.box, plan.flips, plan.k
        image = sample.image[(slice(None),) + box]
        target = sample.targets[(slice(None),) + box]
        foreground = sample.foreground[box][np.newaxis]
        patch_labels = None if sample.labels is None else sample.labels[box][np.newaxis]
        patch_classes = None if sample.classes is None else sample.classes[box][np.newaxis]
        if flips or k:
            image = flip_and_rotate(image, flips, k)
            foreground = flip_and_rotate(foreground, flips, k)
            if patch_labels is not None:
                patch_labels = flip_and_rotate(patch_labels, flips, k)
            if patch_classes is not None:
                patch_classes = flip_and_rotate(patch_classes, flips, k)
            if reencode is None:
                target = flip_and_rotate(target, flips, k, codes)
        # codes encoded again are encoded from every augmented patch, turned or not, so that
        # all of them see objects cut at the patch border alike
        if augmented and reencode is not None:
            target = (
                reencode(patch_labels[0])
                if patch_classes is None
                else reencode(patch_labels[0], patch_classes[0])
            )
        images.append(image)
        targets.append(target)
        foregrounds.append(foreground[0])
        labels.append(patch_labels)
        classes.append(patch_classes)
    return PatchBatch(
        np.stack(images),
        np.stack(targets),
        np.stack(foregrounds),
        None if labels[0] is None else np.concatenate(labels),
        None if classes[0] is None else np.concatenate(classes),
    )


@dataclass
class PatchBatch:
    images: np.ndarray  # (B, C_in, *spatial)
    targets: np.ndarray  # (B, K, *spatial)
    foreground: np.ndarray  # (B, *spatial) bool
    labels: np.ndarray | None = None  # (B, *spatial) instance ids, when the samples keep them
    classes: np.ndarray | None = None  # (B, *spatial) class ids, likewise


def random_transform(
    rng: np.random.Generator, augment: AugmentSettings, ndim: int, square: bool
) -> tuple[tuple[int, ...], int]:
    """The flips (axes) and quarter turns of one patch, each rolled with its probability."""
    flips = []
    if rng.random() < augment.probability("hflip"):
        flips.append(-1)
    if rng.random() < augment.probability("vflip"):
        flips.append(-2)
    if ndim == 3 and rng.random() < augment.probability("zflip"):
        flips.append(-3)
    turn = square and rng.random() < augment.probability("rot90")
    return tuple(flips), int(rng.integers(1, 4)) if turn else 0


def fixed_patches(
    samples: Sequence[Sample], patch: Sequence[int], cells: Sequence[Sequence[tuple[int, ...]]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The validation patches at the given cells, stacked."""
    images, targets, foregrounds = [], [], []
    for sample, starts in zip(samples, cells):
        for start in starts:
            box = tuple(slice(s, s + p) for s, p in zip(start, patch))
            images.append(sample.image[(slice(None),) + box])
            targets.append(sample.targets[(slice(None),) + box])
            foregrounds.append(sample.foreground[box])
    return np.stack(images), np.stack(targets), np.stack(foregrounds)


def at_most(
    cells: Sequence[Sequence[tuple[int, ...]]], limit: int, rng: np.random.Generator
) -> list[list[tuple[int, ...]]]:
    """At most ``limit`` of the cells of all images, drawn at random (each image's in order)."""
    flat = [(i, c) for i, image in enumerate(cells) for c in image]
    if len(flat) <= limit:
        return [list(image) for image in cells]
    chosen = sorted(rng.choice(len(flat), size=limit, replace=False))
    kept: list[list[tuple[int, ...]]] = [[] for _ in cells]
    for position in chosen:
        image, cell = flat[position]
        kept[image].append(cell)
    return kept


def all_cells(samples: Sequence[Sample], patch: Sequence[int]) -> list[list[tuple[int, ...]]]:
    """Every non-overlapping patch cell of each image (used for a validation folder)."""
    cells = []
    for sample in samples:
        shape = sample.foreground.shape
        counts = [max(1, s // p) for s, p in zip(shape, patch)]
        cells.append(
            [
                tuple(c * p for c, p in zip(cell, patch))
                for cell in itertools.product(*[range(c) for c in counts])
            ]
        )
    return cells
