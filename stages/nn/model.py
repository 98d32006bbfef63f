"""Building, saving and loading networks (from the architecture registry) and the model card.

A model file holds the weights and a JSON card: the :class:`ModelSpec` that rebuilds the
network, and what applying it needs (channel planes and their activations, the
normalisation, the patch size). Prediction needs only this module, never the training code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from .architectures import ARCHITECTURES
from .settings import ModelSpec


def build_model(spec: ModelSpec | dict) -> torch.nn.Module:
    """The network a spec describes (a dict is a spec read from a model card)."""
    if isinstance(spec, dict):
        spec = ModelSpec.from_dict(spec)
    if spec.architecture not in ARCHITECTURES:
        raise ValueError(
            f"architecture {spec.architecture!r} is not available; available: "
            f"{', '.join(sorted(ARCHITECTURES))}"
        )
    return ARCHITECTURES[spec.architecture](spec)


@dataclass(frozen=True)
class ModelCard:
    """What a trained model needs to be applied, saved beside its weights as JSON."""

    spec: ModelSpec
    channels: tuple[str, ...]  # output planes, in order
    codes: tuple[str, ...]
    channel_options: dict
    activations: tuple[str, ...]
    normalization: dict
    patch_size: tuple[int, ...]  # spatial sizes and the input channel count
    training: dict  # epochs, best epoch and loss, seed, processes, provenance

    def to_meta(self) -> dict:
        """The card as the plain dict saved in the model file."""
        return {
            "spec": self.spec.as_dict(),
            "channels": list(self.channels),
            "codes": list(self.codes),
            "channel_options": self.channel_options,
            "activations": list(self.activations),
            "normalization": self.normalization,
            "patch_size": list(self.patch_size),
            "ndim": self.spec.ndim,
            **self.training,
        }


def save_model(path: str | Path, weights: dict, card: ModelCard) -> None:
    """Weights (moved to the CPU) and card, written atomically."""
    from ..io import atomic_output

    cpu = {k: v.detach().cpu() for k, v in weights.items()}
    with atomic_output(path) as temporary:
        torch.save({"model": cpu, "meta": json.dumps(card.to_meta())}, temporary)


class ForeignCheckpointError(ValueError):
    """A checkpoint another tool (BiaPy) wrote, where a segpipe model was expected."""


def biapy_checkpoint_version(checkpoint) -> str | None:
    """BiaPy's version (or "unknown") when a loaded ``.pth`` is one of BiaPy's checkpoints
    (its state dict under "model", beside its config or version and no segpipe card)."""
    if not isinstance(checkpoint, dict) or "meta" in checkpoint or "model" not in checkpoint:
        return None
    if "biapy_version" in checkpoint or "cfg" in checkpoint:
        return str(checkpoint.get("biapy_version", "unknown"))
    return None


def _biapy_checkpoint_message(path: Path, checkpoint: dict) -> str:
    version = biapy_checkpoint_version(checkpoint) or "unknown"
    architecture = (checkpoint.get("cfg") or {}).get("MODEL", {}).get("ARCHITECTURE")
    trained = f" ({architecture})" if architecture else ""
    return (
        f"{path} is a BiaPy checkpoint (BiaPy {version}){trained}: turn it into a segpipe "
        f"model once with `segpipe import-biapy {path} model.pt` (it says which architectures "
        "it imports) and use that model.pt (PATHS.CHECKPOINT_FILE takes a segpipe model.pt or "
        "a BioImage Model Zoo package segpipe exported)"
    )


def load_model(
    path: str | Path, device: torch.device | None = None
) -> tuple[torch.nn.Module, dict]:
    """A trained model and its card (as a dict), from a ``model.pt`` or from a BioImage Model
    Zoo package segpipe exported (a .zip or its folder); weights are loaded with
    ``weights_only=True``."""
    from .export import is_package, read_package

    path = Path(path)
    package = is_package(path)  # a BioImage Model Zoo package segpipe exported
    if package:
        meta, weights = read_package(path)  # its errors say what the package lacks
    try:
        if not package:
            checkpoint = torch.load(path, map_location=device or "cpu", weights_only=True)
            if biapy_checkpoint_version(checkpoint) is not None:
                raise ForeignCheckpointError(_biapy_checkpoint_message(path, checkpoint))
            meta, weights = json.loads(checkpoint["meta"]), checkpoint["model"]
        model = build_model(meta["spec"])
        model.load_state_dict(weights)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"model {path} does not exist; train first (segpipe train)"
        ) from None
    except ForeignCheckpointError:
        raise
    except Exception as error:  # torch raises many types for a file that is not a model
        if "yacs" in str(error):  # BiaPy before 3.6 pickled its config as a yacs CfgNode
            raise ForeignCheckpointError(_biapy_checkpoint_message(path, {})) from None
        raise ValueError(
            f"{path} is not a segpipe model ({type(error).__name__}: {error})"
        ) from None
    model.eval()
    return model.to(device or "cpu"), meta
