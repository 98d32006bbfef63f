"""Weights another tool trained for the same network, given segpipe's names.

BiaPy's networks compute the functions of segpipe's with other names and another
registration order (its U-Net registers each decoder level's upsampling then its block,
segpipe all upsamplers then all blocks). So the tensors are paired by the order in which
their modules are called: segpipe's from hooks on a forward pass of an example input,
BiaPy's from its state dict's order with the few places where BiaPy registers a layer before
or after the order it calls it in moved (:func:`biapy_call_order`), each pair checked for
shape. Whether a pairing computes the same function as the foreign network is checked per
architecture by ``benchmarks/check_biapy_import.py`` (outputs equal on random input); shapes
alone catch most mismatches, not all.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch


class WeightPairingError(ValueError):
    """Foreign weights that do not pair with a segpipe network's, tensor for tensor."""


def call_order(model: torch.nn.Module, example: torch.Tensor) -> list[str]:
    """``model``'s state-dict keys in the order their modules are first called on
    ``example`` (a module's own tensors in its registration order, before its children's).
    Modules that the forward pass never calls come last, in registration order."""
    names = {module: name for name, module in model.named_modules()}
    started: list[str] = []
    hooks = [
        module.register_forward_pre_hook(lambda module, _: started.append(names[module]))
        for module in names
    ]
    training = model.training
    try:
        with torch.no_grad():
            model.eval()(example)
    finally:
        model.train(training)
        for hook in hooks:
            hook.remove()
    # first calls in order, then the modules never called; a module registered under two
    # names is named once, and its keys under the other name come last
    order = dict.fromkeys(started)
    order.update(dict.fromkeys(names.values()))
    own: dict[str, list[str]] = {name: [] for name in order}
    for key in model.state_dict():
        own.setdefault(key.rpartition(".")[0], []).append(key)
    return [key for keys in own.values() for key in keys]


def _without_leading_ones(shape) -> tuple[int, ...]:
    shape = tuple(shape)
    while shape and shape[0] == 1:
        shape = shape[1:]
    return shape


def pair_biapy_weights(
    foreign: Mapping[str, torch.Tensor], model: torch.nn.Module, example: torch.Tensor
) -> dict[str, torch.Tensor]:
    """BiaPy's tensors ``foreign`` (in the order their layers are called) named as ``model``'s
    state dict (in call order).

    Raises :class:`WeightPairingError` naming the first pair whose shapes differ, or the
    counts when one side has tensors left over.
    """
    ours = call_order(model, example)
    target = model.state_dict()
    foreign = joined_biapy_heads(foreign)
    theirs = [(key, foreign[key]) for key in biapy_call_order(list(foreign))]
    if len(theirs) != len(ours):
        raise WeightPairingError(
            f"{len(theirs)} tensors where the network has {len(ours)}: another network's weights"
        )
    paired = {}
    for (foreign_key, tensor), key in zip(theirs, ours):
        if _without_leading_ones(tensor.shape) == _without_leading_ones(target[key].shape):
            # a scale stored with fewer leading 1s broadcasts the same (U-NeXt V2's in 3D)
            tensor = tensor.reshape(target[key].shape)
        if tuple(tensor.shape) != tuple(target[key].shape):
            raise WeightPairingError(
                f"{foreign_key} {tuple(tensor.shape)} does not fit {key} "
                f"{tuple(target[key].shape)}: the network is built otherwise"
            )
        paired[key] = tensor.to(target[key].dtype)
    return paired


#: BiaPy's layers registered out of call order: (name, where it is called among its siblings)
BIAPY_CALLED_FIRST = ("conv_in",)  # U-Net family: the larger input conv, registered last
BIAPY_CALLED_LAST = ("shortcut",)  # residual blocks: the shortcut, registered first in some


#: BiaPy's lists of layers registered apart from the list whose layers they are called
#: between: (list, host, offset, where): ``list.i`` is called just before or after
#: ``host.(i + offset)``
BIAPY_WOVEN = (
    ("downsample_layers", "down_path", 1, "after"),  # U-NeXt: each level's downsampling
    ("sqex_blocks", "down_path", 0, "after"),  # ResUNet++: squeeze-excitation of each level
    ("attentions.0", "up_paths.0", 0, "before"),  # ResUNet++: the gate before each up level
    ("transitions", "stages", 0, "before"),  # HRNet: the new branches before each stage
)


def _unit(key: str, prefix: str) -> int | None:
    """The index of ``key`` in the list of layers ``prefix`` (None: not in it)."""
    if not key.startswith(prefix + "."):
        return None
    index = key[len(prefix) + 1 :].split(".", 1)[0]
    return int(index) if index.isdigit() else None


def _woven(keys: list[str]) -> list[str]:
    """``keys`` with the layers of each BIAPY_WOVEN list moved beside their host's (a layer
    whose host is missing goes last: the shapes will say whether that fits)."""
    for name, host, offset, where in BIAPY_WOVEN:
        moving = [k for k in keys if _unit(k, name) is not None]
        if not moving:
            continue
        keys = [k for k in keys if _unit(k, name) is None]
        unplaced = []
        for index in sorted({_unit(k, name) for k in moving}):
            unit = [k for k in moving if _unit(k, name) == index]
            places = [i for i, k in enumerate(keys) if _unit(k, host) == index + offset]
            if not places:
                unplaced += unit
                continue
            at = places[0] if where == "before" else places[-1] + 1
            keys[at:at] = unit
        keys += unplaced
    return keys


def biapy_call_order(keys: list[str]) -> list[str]:
    """BiaPy state-dict ``keys`` in the order their layers are called: the state dict's order
    with BIAPY_CALLED_FIRST moved before their siblings, BIAPY_CALLED_LAST after them and the
    BIAPY_WOVEN lists beside the layers that call them."""
    tree: dict = {}
    for key in keys:
        node = tree
        for part in key.split("."):
            node = node.setdefault(part, {})

    def flatten(node: dict, prefix: str) -> list[str]:
        names = list(node)
        names = (
            [n for n in names if n in BIAPY_CALLED_FIRST]
            + [n for n in names if n not in BIAPY_CALLED_FIRST + BIAPY_CALLED_LAST]
            + [n for n in names if n in BIAPY_CALLED_LAST]
        )
        ordered = []
        for name in names:
            child = node[name]
            ordered += flatten(child, f"{prefix}{name}.") if child else [prefix + name]
        return ordered

    return _woven(flatten(tree, ""))


def joined_biapy_heads(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """BiaPy's output heads (``heads.0``, ``heads.1``, ...: channel groups, then the class head)
    as the one head convolution segpipe's networks end with: their outputs concatenated in head
    order, which is BiaPy's order of the channels (and classes last)."""
    heads = sorted({int(key.split(".")[1]) for key in state if key.startswith("heads.")})
    if len(heads) < 2:
        return dict(state)
    joined = {k: v for k, v in state.items() if not k.startswith("heads.")}
    for part in ("weight", "bias"):
        pieces = [state[f"heads.{h}.{part}"] for h in heads if f"heads.{h}.{part}" in state]
        if pieces:
            joined[f"heads.0.{part}"] = torch.cat(pieces, dim=0)
    return joined
