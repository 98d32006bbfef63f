"""Losses: BCE for binary channels, masked L1 for regression channels (the squared error for
flows, as BiaPy), the EmbedSeg loss for E, cross-entropy for the class head."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn import functional as functional

from .activations import apply_activations

#: EmbedSeg's weights of its three terms (instance, variance, seediness)
EMBEDSEG_WEIGHTS = (1.0, 10.0, 1.0)


def channel_losses(
    logits: torch.Tensor,
    targets: torch.Tensor,
    foreground: torch.Tensor,
    *,
    kinds: Sequence[str],
    activations: Sequence[str],
    masked: Sequence[bool],
    rebalance: bool = False,
    squared: Sequence[bool] | None = None,
) -> torch.Tensor:
    """One loss value per channel.

    Binary channels: BCE on logits (numerically stable), optionally with the positive
    class weighted by its rarity in the batch. Regression channels: L1 between the
    activated output and the target (the squared error where ``squared``), over instance
    pixels only where ``masked``.
    """
    activated = apply_activations(logits, activations)
    losses = []
    for index, kind in enumerate(kinds):
        target = targets[:, index]
        if kind == "binary":
            weight = None
            if rebalance:
                positive = target.mean().clamp(1e-3, 1 - 1e-3)
                weight = torch.where(target > 0.5, 0.5 / positive, 0.5 / (1 - positive))
            losses.append(
                functional.binary_cross_entropy_with_logits(logits[:, index], target, weight=weight)
            )
        else:
            difference = activated[:, index] - target
            error = difference.square() if squared and squared[index] else difference.abs()
            if masked[index]:
                mask = foreground.to(error.dtype)
                losses.append((error * mask).sum() / mask.sum().clamp_min(1.0))
            else:
                losses.append(error.mean())
    return torch.stack(losses)


def code_losses(
    logits: torch.Tensor,
    targets: torch.Tensor,
    foreground: torch.Tensor,
    layout,
    *,
    rebalance: bool = False,
    class_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """One loss per channel code of ``layout`` (a :class:`~stages.nn.layout.ChannelLayout`).

    Codes with several planes (R, A) average their planes' losses; E gets the EmbedSeg loss;
    the class head, cross-entropy over its planes (weighted per class by ``class_weights``).
    """
    losses = []
    for part in layout.parts:
        out = logits[:, part.outputs]
        target = targets[:, part.targets]
        activations = layout.activations[part.outputs]
        if part.kind == "class":
            losses.append(functional.cross_entropy(out, target[:, 0].long(), weight=class_weights))
            continue
        if part.kind == "embedding":
            losses.append(embedseg_loss(apply_activations(out, activations), target))
            continue
        width = out.shape[1]
        per_plane = channel_losses(
            out,
            target,
            foreground,
            kinds=[part.kind] * width,
            activations=activations,
            masked=[part.masked] * width,
            rebalance=rebalance,
            squared=[part.squared] * width,
        )
        losses.append(per_plane.mean())
    return torch.stack(losses)


def lovasz_hinge(scores: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Lovász hinge (Berman et al. 2018) of flat scores in (-1, 1) against a flat 0/1 mask: a convex
    surrogate of 1 - IoU."""
    signs = 2.0 * truth - 1.0
    errors = 1.0 - scores * signs
    errors_sorted, order = torch.sort(errors, descending=True)
    truth_sorted = truth[order]
    positives = truth_sorted.sum()
    intersection = positives - truth_sorted.cumsum(0)
    union = positives + (1.0 - truth_sorted).cumsum(0)
    jaccard = 1.0 - intersection / union
    gradient = torch.cat([jaccard[:1], jaccard[1:] - jaccard[:-1]])
    return torch.dot(functional.relu(errors_sorted), gradient)


def embedseg_loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """EmbedSeg's loss for one batch.

    outputs : (N, 2d+1, *spatial) activated planes: offsets (pixels), sigma (pixels), seediness.
    targets : (N, 2d+2, *spatial): instance ids, then the E encoding (offsets to the centre, ...).

    Per instance: the Lovász hinge of its Gaussian kernel (centred on the true centre, bandwidth
    the instance's mean predicted sigma) against its mask, the variance of sigma inside it, and
    the seediness regressed to the (detached) kernel value; background seediness to 0.
    """
    batch = outputs.shape[0]
    ndim = (outputs.shape[1] - 1) // 2
    spatial = outputs.shape[2:]
    grids = torch.meshgrid(
        *[torch.arange(s, dtype=outputs.dtype, device=outputs.device) for s in spatial],
        indexing="ij",
    )
    coordinates = torch.stack(grids).reshape(ndim, -1)
    w_instance, w_variance, w_seed = EMBEDSEG_WEIGHTS
    total = outputs.new_zeros(())
    for b in range(batch):
        ids = targets[b, 0].reshape(-1).round().long()
        embedding = coordinates + outputs[b, :ndim].reshape(ndim, -1)
        sigma = outputs[b, ndim : 2 * ndim].reshape(ndim, -1).clamp_min(1e-3)
        seed = outputs[b, 2 * ndim].reshape(-1)
        centres_target = coordinates + targets[b, 1 : 1 + ndim].reshape(ndim, -1)
        background = ids == 0
        seed_loss = (seed[background] ** 2).sum()
        instance_loss = outputs.new_zeros(())
        variance_loss = outputs.new_zeros(())
        present = torch.unique(ids[~background])
        for label in present:
            inside = ids == label
            centre = centres_target[:, inside].mean(dim=1, keepdim=True)
            sigma_inside = sigma[:, inside]
            bandwidth = sigma_inside.mean(dim=1, keepdim=True)
            variance_loss = variance_loss + ((sigma_inside - bandwidth.detach()) ** 2).mean()
            kernel = torch.exp(-0.5 * (((embedding - centre) / bandwidth) ** 2).sum(dim=0))
            instance_loss = instance_loss + lovasz_hinge(kernel * 2 - 1, inside.to(kernel.dtype))
            seed_loss = seed_loss + ((seed[inside] - kernel[inside].detach()) ** 2).sum()
        count = max(len(present), 1)
        total = (
            total
            + w_instance * instance_loss / count
            + w_variance * variance_loss / count
            + w_seed * seed_loss / ids.numel()
        )
    return total / batch
