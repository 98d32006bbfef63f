"""Augment a batch of training patches in torch, on the device that trains.

Each enabled augmentation is rolled per patch against its own probability, in BiaPy's
order: the warps (rotation, zoom, shear and shift composed into one resampling; elastic),
misalignment and cutmix, which move or mix the labels; then the intensity changes and
the boxes. Patches whose labels changed are reported, so that their channels are encoded
again from the new labels (as BiaPy does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from . import geometry, intensity, regions
from .dice import Dice
from .settings import AugmentSettings


@dataclass
class AugmentedBatch:
    image: torch.Tensor  # (B, C, *S)
    labels: torch.Tensor | None  # (B, *S) instance ids
    classes: torch.Tensor | None  # (B, *S) class ids
    relabelled: list[int]  # patches whose labels moved: their channels are encoded again


def augment_batch(
    image: torch.Tensor,
    labels: torch.Tensor | None,
    classes: torch.Tensor | None,
    settings: AugmentSettings,
    seed: int,
) -> AugmentedBatch:
    """Augment (B, C, *S) patches with their (B, *S) labels and classes (None: the image only,
    and no augmentation that moves labels may be enabled).

    ``seed`` fixes every draw, parameters and pixel noise alike.
    """
    dice = Dice(seed)
    noise = torch.Generator(device=image.device).manual_seed(seed + 1)
    image = image.clone()
    labels = None if labels is None else labels.clone()
    classes = None if classes is None else classes.clone()
    if labels is None and settings.changes_labels:
        raise ValueError("augmentations that move labels need the patches' labels")
    relabelled: set[int] = set()
    image, labels, classes = _warps(image, labels, classes, settings, dice, noise, relabelled)
    _misalign_and_mix(image, labels, classes, settings, dice, relabelled)
    _intensities(image, labels, settings, dice, noise, relabelled)
    return AugmentedBatch(image, labels, classes, sorted(relabelled))


def _warps(image, labels, classes, settings: AugmentSettings, dice: Dice, noise, relabelled):
    count, shape = image.shape[0], tuple(image.shape[2:])
    side = min(shape[-2:])
    matrices, chosen = [], []
    rotate, zoom, shear, shift = (
        set(dice.rolls(settings.probability(name), count))
        for name in ("random_rot", "zoom", "shear", "shift")
    )
    for n in range(count):
        if n not in rotate | zoom | shear | shift:
            continue
        scale = dice.uniform(*settings.zoom_range) if n in zoom else 1.0
        moved = (0.0, 0.0)
        if n in shift:
            # BiaPy draws one fraction for both axes; the direction is drawn too
            fraction = dice.uniform(*settings.shift_range)
            moved = tuple(fraction * side * (1 if dice.chance(0.5) else -1) for _ in range(2))
        matrices.append(
            geometry.affine_matrix(
                shape,
                angle=dice.uniform(*settings.rotation_range) if n in rotate else 0.0,
                zoom=scale,
                zoom_z=scale if settings.zoom_in_z else 1.0,
                shear=dice.uniform(*settings.shear_range) if n in shear else 0.0,
                shift=moved,
            )
        )
        chosen.append(n)
    if chosen:
        coords = geometry.affine_coordinates(np.stack(matrices), shape, image.device)
        image, labels, classes = _warp_some(
            image, labels, classes, chosen, coords, settings.affine_mode
        )
        relabelled.update(chosen)
    chosen = dice.rolls(settings.probability("elastic"), count)
    if chosen:
        alphas = [dice.uniform(*settings.elastic_alpha) for _ in chosen]
        coords = geometry.identity_coordinates(shape, image.device, len(chosen))
        coords = coords + geometry.elastic_displacement(
            len(chosen), shape, alphas, settings.elastic_sigma, noise, image.device
        )
        image, labels, classes = _warp_some(
            image, labels, classes, chosen, coords, settings.elastic_mode
        )
        relabelled.update(chosen)
    return image, labels, classes


def _warp_some(image, labels, classes, chosen: list[int], coords, mode: str):
    index = torch.as_tensor(chosen, device=image.device)
    warped = geometry.warp(
        image[index],
        None if labels is None else labels[index],
        None if classes is None else classes[index],
        coords,
        mode,
    )
    image = image.index_copy(0, index, warped[0])
    if labels is not None:
        labels = labels.index_copy(0, index, warped[1])
    if classes is not None:
        classes = classes.index_copy(0, index, warped[2])
    return image, labels, classes


def misalignment_angle(side: int, displacement: int) -> float:
    """The largest turn (degrees) of a section that moves it about ``displacement`` pixels at
    the patch's edge (BiaPy's bound)."""
    reach = max((side - displacement) / 2.0 * 1.42, displacement / 2.0)
    return math.degrees(2 * math.asin(min(1.0, displacement / 2.0 / max(reach, 1e-6))))


def _misalign(image, labels, classes, n: int, settings: AugmentSettings, dice: Dice) -> None:
    """Shift or turn part of patch ``n``: in 3D the sections from a random one on ("translation")
    or that one alone ("slip"); in 2D the rows below a random row. Emptied space is 0."""
    shape = tuple(image.shape[2:])
    displacement = settings.misalignment_displacement
    turn = dice.chance(settings.misalignment_rotate_ratio)
    if len(shape) == 3:
        first = dice.integer(1, shape[0] - 2) if shape[0] >= 3 else 0
        last = first + 1 if dice.chance(0.5) else shape[0]
        # sections as a batch of 2D patches
        part = (slice(first, last),)
        block = image[n][:, first:last].movedim(1, 0)
        ids = [None if a is None else a[n][first:last] for a in (labels, classes)]
        plane = shape[1:]
    else:
        row = dice.integer(1, shape[0] - 2)
        part = (slice(row, None),)
        block = image[n][:, row:][None]
        ids = [None if a is None else a[n][row:][None] for a in (labels, classes)]
        plane = tuple(block.shape[2:])
    if turn:
        limit = misalignment_angle(shape[-2], displacement)
        matrix = geometry.affine_matrix(plane, angle=dice.uniform(-limit, limit))
    else:
        moved = (
            dice.integer(-displacement, displacement),
            dice.integer(-displacement, displacement),
        )
        matrix = geometry.affine_matrix(plane, shift=moved if len(shape) == 3 else (0, moved[1]))
    coords = geometry.affine_coordinates(matrix[None], plane, image.device)
    coords = coords.expand(block.shape[0], *coords.shape[1:])
    warped, moved_labels, moved_classes = geometry.warp(block, ids[0], ids[1], coords, "constant")
    if len(shape) == 3:
        image[n][(slice(None), *part)] = warped.movedim(0, 1)
        if labels is not None:
            labels[n][part] = moved_labels
        if classes is not None:
            classes[n][part] = moved_classes
    else:
        image[n][(slice(None), *part)] = warped[0]
        if labels is not None:
            labels[n][part] = moved_labels[0]
        if classes is not None:
            classes[n][part] = moved_classes[0]


def _misalign_and_mix(image, labels, classes, settings: AugmentSettings, dice: Dice, relabelled):
    count, shape = image.shape[0], tuple(image.shape[2:])
    for n in dice.rolls(settings.probability("misalignment"), count):
        if shape[-2] >= 3:
            _misalign(image, labels, classes, n, settings, dice)
            relabelled.add(n)
    if count < 2:
        return  # cutmix needs a second patch
    donors = (image.clone(), *(None if a is None else a.clone() for a in (labels, classes)))
    for n in dice.rolls(settings.probability("cutmix"), count):
        other = (n + dice.integer(1, count - 1)) % count
        fraction = dice.uniform(*settings.cutmix_size)
        regions.cutmix(
            image[n],
            None if labels is None else labels[n],
            None if classes is None else classes[n],
            tuple(None if d is None else d[other] for d in donors),
            regions.random_box(shape, fraction, dice, whole_z=True),
            regions.random_box(shape, fraction, dice, whole_z=True),
        )
        relabelled.add(n)


def _intensities(image, labels, settings: AugmentSettings, dice: Dice, noise, relabelled):
    count, shape = image.shape[0], tuple(image.shape[2:])
    p = settings.probability
    for n in dice.rolls(p("grayscale"), count):
        image[n] = intensity.grayscale(image[n])
    for n in dice.rolls(p("channel_shuffle"), count):
        image[n] = image[n][torch.as_tensor(dice.permutation(image.shape[1]))]
    for n in dice.rolls(p("cutblur"), count):
        box = regions.random_box(shape, dice.uniform(*settings.cutblur_size), dice, whole_z=True)
        inside = settings.cutblur_inside or dice.chance(0.5)
        image[n] = regions.cutblur(image[n], box, dice.integer(*settings.cutblur_down), inside)
    for n in dice.rolls(p("cutnoise"), count):
        for _ in range(dice.integer(*settings.cutnoise_iterations)):
            box = regions.random_box(shape, dice.uniform(*settings.cutnoise_size), dice)
            regions.cutnoise(image[n], box, dice.uniform(*settings.cutnoise_scale), noise)
    for n in dice.rolls(p("brightness"), count):
        image[n] += dice.uniform(*sorted(settings.brightness_factor))
    for n in dice.rolls(p("contrast"), count):
        image[n] *= 1.0 + dice.uniform(*sorted(settings.contrast_factor))
    for n in dice.rolls(p("gamma_contrast"), count):
        image[n] = intensity.gamma_contrast(image[n], dice.uniform(*settings.gamma))
    for n in dice.rolls(p("gaussian_noise"), count):
        mean, variance = settings.gaussian_noise_mean, settings.gaussian_noise_var
        if settings.gaussian_noise_from_image:  # tensors: no wait for the device
            mean = image[n].mean()
            variance = image[n].var() * dice.uniform(0.9, 1.1)
        image[n] = intensity.gaussian_noise(image[n], mean, variance, noise)
    for n in dice.rolls(p("poisson_noise"), count):
        image[n] = intensity.poisson_noise(image[n], noise)
    for name, amount, salt in (
        ("salt", settings.salt_amount, 1.0),
        ("pepper", settings.pepper_amount, 0.0),
        ("salt_and_pepper", settings.salt_and_pepper_amount, settings.salt_and_pepper_salt),
    ):
        for n in dice.rolls(p(name), count):
            image[n] = intensity.salt_and_pepper(image[n], amount, salt, noise)
    for n in dice.rolls(p("missing_sections"), count):
        regions.missing_sections(
            image[n],
            settings.missing_sections_probability,
            settings.missing_sections_iterations,
            dice,
        )
    for n in dice.rolls(p("gridmask"), count):
        _grid_mask(image, n, settings, dice)
    for n in dice.rolls(p("cutout"), count):
        boxes = [
            regions.random_box(shape, dice.uniform(*settings.cutout_size), dice)
            for _ in range(dice.integer(*settings.cutout_iterations))
        ]
        regions.cutout(
            image[n],
            None if labels is None else labels[n],
            boxes,
            settings.cutout_value,
            settings.cutout_labels,
        )
        if settings.cutout_labels:
            relabelled.add(n)
    for n in dice.rolls(p("g_blur"), count):
        image[n] = intensity.blur(image[n], dice.uniform(*settings.gaussian_sigma))
    for n in dice.rolls(p("median_blur"), count):
        size = dice.integer(*settings.median_kernel) | 1
        if size > 1:
            image[n] = intensity.median_blur(image[n], size)
    for n in dice.rolls(p("motion_blur"), count):
        kernel = intensity.motion_kernel(
            dice.integer(*settings.motion_kernel) | 1,
            dice.uniform(0, 360),
            dice.uniform(-1, 1),
            image.device,
        )
        image[n] = intensity.motion_blur(image[n], kernel)
    for n in dice.rolls(p("dropout"), count):
        image[n] = intensity.dropout(image[n], dice.uniform(*settings.dropout_range), noise)


def _grid_mask(image, n: int, settings: AugmentSettings, dice: Dice) -> None:
    shape = tuple(image.shape[2:])
    height, width = shape[-2:]
    low = max(2, int(height * settings.grid_period[0]))
    period = dice.integer(low, max(low, int(width * settings.grid_period[1])))
    angle = dice.uniform(0, 360 * settings.grid_rotate)
    start = (dice.integer(0, period - 1), dice.integer(0, period - 1))
    keep = regions.grid_mask(shape, period, settings.grid_ratio, angle, start, image.device)
    if settings.grid_invert:
        keep = ~keep
    if len(shape) == 3:
        depth = dice.integer(1, shape[0])
        first = dice.integer(0, shape[0] - depth)
        image[n][:, first : first + depth] *= keep
    else:
        image[n] *= keep


def augment_patches(
    batch,
    settings: AugmentSettings,
    encode,
    seed: int,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The images, targets and foreground of a sampled ``PatchBatch`` as float32 tensors on
    ``device``, augmented there; patches whose labels moved get targets from ``encode(labels[,
    classes])`` (on the CPU, as the encoders are numpy)."""

    def tensor(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(device)

    def ids(array: np.ndarray | None) -> torch.Tensor | None:
        return None if array is None else torch.from_numpy(array.astype(np.int64)).to(device)

    done = augment_batch(
        tensor(batch.images), ids(batch.labels), ids(batch.classes), settings, seed
    )
    targets, foreground = batch.targets, batch.foreground
    if done.relabelled:
        targets, foreground = targets.copy(), foreground.copy()
        # only the moved patches' labels come back from the device
        moved = torch.as_tensor(done.relabelled, device=done.labels.device)
        labels = done.labels[moved].cpu().numpy()
        classes = None if done.classes is None else done.classes[moved].cpu().numpy()
        for row, n in enumerate(done.relabelled):
            targets[n] = (
                encode(labels[row]) if classes is None else encode(labels[row], classes[row])
            )
            foreground[n] = labels[row] > 0
    return done.image, tensor(targets), tensor(foreground)
