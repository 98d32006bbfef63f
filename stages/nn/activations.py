"""Output activations of the network's channel planes."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn import functional


def apply_activations(logits: torch.Tensor, activations: Sequence[str]) -> torch.Tensor:
    """Per-channel output activation (sigmoid, tanh, softplus or linear) on (N, C, ...) logits;
    the "softmax" channels (a class head) are one softmax across them."""
    outputs = []
    for index, name in enumerate(activations):
        channel = logits[:, index : index + 1]
        if name == "sigmoid":
            channel = torch.sigmoid(channel)
        elif name == "tanh":
            channel = torch.tanh(channel)
        elif name == "softplus":
            channel = functional.softplus(channel)
        outputs.append(channel)
    softmax = [i for i, name in enumerate(activations) if name == "softmax"]
    if softmax:
        probabilities = torch.softmax(logits[:, softmax], dim=1)
        for position, index in enumerate(softmax):
            outputs[index] = probabilities[:, position : position + 1]
    return torch.cat(outputs, dim=1)
