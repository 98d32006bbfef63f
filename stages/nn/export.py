"""A trained model as a BioImage Model Zoo package (model description format 0.5), and back.

The package holds the network with its output activations (so its outputs are segpipe's
channel maps, not logits) as TorchScript and as a state dict, test input and output, a cover
image, a README and ``config.segpipe``: the model card (network, channel codes and options,
normalisation) and the decoder's settings. segpipe loads such a package as it loads a
``model.pt``; other BMZ consumers run the TorchScript weights.
"""

from __future__ import annotations

import copy
import hashlib
import json
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .activations import apply_activations
from .model import build_model
from .normalization import division_divisor

FORMAT_VERSION = "0.5.4"
TORCHSCRIPT_FILE = "weights_torchscript.pt"
STATE_DICT_FILE = "weights_state_dict.pt"
DESCRIPTION_FILE = "rdf.yaml"
#: the workflow segpipe reproduces (the DOI BiaPy's own export cites for itself)
WORKFLOW_CITATION = {
    "text": "Franco-Barranco et al., BiaPy, Nature Methods 2025: the instance segmentation "
    "workflow segpipe follows",
    "doi": "10.1038/s41592-025-02699-y",
}


class ChannelMaps(nn.Module):
    """A network followed by its per-plane output activations: the channel maps segpipe
    decodes, from a normalised (N, C, [Z,] Y, X) input."""

    def __init__(self, network: nn.Module, activations: Sequence[str]) -> None:
        super().__init__()
        self.network = network
        self.activations = list(activations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return apply_activations(self.network(x), self.activations)


def channel_maps_from_card(card: dict) -> ChannelMaps:
    """The exported module for a model card (the package's state-dict architecture)."""
    return ChannelMaps(build_model(card["spec"]), card["activations"])


@dataclass(frozen=True)
class PackageText:
    """What a person writes about the model (BiaPy's MODEL.BMZ.EXPORT keys)."""

    name: str
    description: str
    authors: list[dict]
    license: str = "CC-BY-4.0"
    tags: list[str] = field(default_factory=list)
    cite: list[dict] = field(default_factory=list)
    version: str = "0.1.0"
    documentation: str = ""  # markdown text; empty: written from the card


def preprocessing(normalization: dict, axes: Sequence[str], test_input: np.ndarray) -> list[dict]:
    """BMZ preprocessing steps equal to segpipe's normalisation of one image.

    ``div`` divides by 255 or 65535 after the image's own maximum, which no BMZ step can
    express: it is written as the fixed gain that the test input gets.
    """
    steps: list[dict] = [{"id": "ensure_dtype", "kwargs": {"dtype": "float32"}}]
    spatial = [a for a in axes if a != "c"]
    if normalization["perc_clip"]:
        clip = {
            "min_percentile": float(normalization["lower_perc"]),
            "max_percentile": float(normalization["upper_perc"]),
            "axes": spatial,
        }
        steps.append({"id": "clip", "kwargs": clip})
    kind = normalization["type"]
    mean, std = normalization.get("mean"), normalization.get("std")
    if kind == "zero_mean_unit_variance" and mean is not None and std is not None:
        fixed = {"mean": float(mean), "std": float(std)}
        steps.append({"id": "fixed_zero_mean_unit_variance", "kwargs": fixed})
    elif kind == "zero_mean_unit_variance":
        steps.append({"id": "zero_mean_unit_variance", "kwargs": {"axes": spatial, "eps": 1e-6}})
    elif kind == "scale_range":
        scale = {"axes": spatial, "min_percentile": 0.0, "max_percentile": 100.0, "eps": 1e-6}
        steps.append({"id": "scale_range", "kwargs": scale})
    else:
        gain = 1.0 / division_divisor(test_input)
        steps.append({"id": "scale_linear", "kwargs": {"gain": gain, "offset": 0.0}})
    return steps


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_description(
    card: dict,
    text: PackageText,
    decoder: dict,
    halo: Sequence[int],
    test_input: np.ndarray,
    files: dict[str, Path],
) -> dict:
    """The package's rdf.yaml as a dict. ``files``: test_input, test_output, cover,
    documentation, torchscript and state_dict, each a written file whose hash goes in."""
    ndim = card["ndim"]
    spatial = ["z", "y", "x"][-ndim:]
    size = card["patch_size"][:-1]

    def file(name: str) -> dict:
        return {"source": files[name].name, "sha256": _sha256(files[name])}

    input_axes = [
        {"type": "batch"},
        {
            "type": "channel",
            "channel_names": [f"raw{c}" for c in range(card["spec"]["in_channels"])],
        },
        *({"type": "space", "id": axis, "size": int(s)} for axis, s in zip(spatial, size)),
    ]
    output_axes = [
        {"type": "batch"},
        {"type": "channel", "channel_names": list(card["channels"])},
        *(
            {"type": "space", "id": axis, "size": {"tensor_id": "raw", "axis_id": axis},
             "halo": int(h)}
            for axis, h in zip(spatial, halo)
        ),
    ]  # fmt: skip
    return {
        "type": "model",
        "format_version": FORMAT_VERSION,
        "name": text.name,
        "description": text.description,
        "version": text.version,
        "authors": text.authors,
        "cite": [*text.cite, WORKFLOW_CITATION],
        "license": text.license,
        "tags": sorted({*text.tags, "segpipe", "pytorch", f"{ndim}d", "instance-segmentation"}),
        "documentation": files["documentation"].name,
        "covers": [files["cover"].name],
        "inputs": [{
            "id": "raw",
            "description": "raw image; the preprocessing is segpipe's normalisation",
            "axes": input_axes,
            "test_tensor": file("test_input"),
            "sample_tensor": file("sample_input"),
            "preprocessing": preprocessing(card["normalization"], ["c", *spatial], test_input),
        }],
        "outputs": [{
            "id": "channels",
            "description": "segpipe's channel maps (codes " + ",".join(card["codes"]) + "), "
            "after their activations; `segpipe decode` turns them into instances",
            "axes": output_axes,
            "test_tensor": file("test_output"),
            "sample_tensor": file("sample_output"),
        }],
        "weights": {
            "pytorch_state_dict": {
                **file("state_dict"),
                "authors": copy.deepcopy(text.authors),
                "architecture": {
                    "callable": "channel_maps_from_card",
                    "import_from": "stages.nn.export",
                    "kwargs": {"card": card},
                },
                "pytorch_version": torch.__version__.split("+")[0],
            },
            "torchscript": {
                **file("torchscript"),
                "parent": "pytorch_state_dict",
                "pytorch_version": torch.__version__.split("+")[0],
            },
        },
        "config": {
            "segpipe": {"card": card, "decoder": decoder},
            "bioimageio": {
                "reproducibility_tolerance": [
                    {"relative_tolerance": 1e-3, "absolute_tolerance": 1e-4,
                     "mismatched_elements_per_million": 100}
                ]
            },
        },
    }  # fmt: skip


def trace(maps: ChannelMaps, example: torch.Tensor) -> torch.jit.ScriptModule:
    """TorchScript of the channel maps for inputs of the example's shape (any batch size)."""
    with torch.no_grad(), warnings.catch_warnings():
        # the padding test is constant for the patch size the package declares; TorchScript
        # is deprecated in torch but is the zoo's portable weight format
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.trace(maps.eval(), example, check_trace=False)


def documentation(card: dict, text: PackageText) -> str:
    """The package's README: what goes in and out, and how segpipe uses it."""
    if text.documentation:
        return text.documentation
    spec = card["spec"]
    return "\n".join([
        f"# {text.name}",
        "",
        text.description,
        "",
        f"A {card['ndim']}D `{spec['architecture']}` trained with segpipe for instance "
        f"segmentation. Input: {spec['in_channels']} channel(s), patches of "
        f"{'x'.join(map(str, card['patch_size'][:-1]))}, normalised as the preprocessing says. "
        f"Output: the channel maps {', '.join(card['channels'])} (codes "
        f"{', '.join(card['codes'])}), each after its activation "
        f"({', '.join(card['activations'])}).",
        "",
        *(
            [f"Training data: {', '.join(f'{k} {v}' for k, v in card['dataset'].items())}.", ""]
            if card.get("dataset")
            else []
        ),
        "The instances come from decoding the maps with the settings in `config.segpipe.decoder`:",
        "in segpipe, set `MODEL.SOURCE: bmz` and `MODEL.BMZ.SOURCE_MODEL_ID` to this package.",
        "",
        "# Validation",
        "",
        "`test_output.npy` is segpipe's prediction of `test_input.npy` (a window of a raw image",
        "the exporter chose) after the preprocessing above; both weight formats reproduce it.",
        "The instance-level accuracy of the model is in the run's `test_results_metrics.csv`.",
        "",
    ])  # fmt: skip


def package_files(folder: Path) -> dict[str, Path]:
    return {
        "test_input": folder / "test_input.npy",
        "test_output": folder / "test_output.npy",
        "sample_input": folder / "sample_input.tif",
        "sample_output": folder / "sample_output.tif",
        "cover": folder / "cover.png",
        "documentation": folder / "README.md",
        "torchscript": folder / TORCHSCRIPT_FILE,
        "state_dict": folder / STATE_DICT_FILE,
    }


def write_package(
    folder: Path,
    network: nn.Module,
    card: dict,
    text: PackageText,
    decoder: dict,
    halo: Sequence[int],
    test_input: np.ndarray,
    normalized: np.ndarray,
) -> dict:
    """Write the package's files into ``folder``; returns its description (also rdf.yaml).

    ``test_input``: (1, C, [Z,] Y, X) raw; ``normalized``: the same after segpipe's
    normalisation, which the network's test output is computed from.
    """
    import tifffile

    from ..pictures import display_grey, middle_slice, save_panels

    files = package_files(folder)
    maps = ChannelMaps(network, card["activations"]).eval()
    example = torch.from_numpy(np.ascontiguousarray(normalized, dtype=np.float32))
    traced = trace(maps, example)
    with torch.no_grad():
        output = traced(example).numpy()
    np.save(files["test_input"], test_input.astype(np.float32))
    np.save(files["test_output"], output)
    # the same tensors as TIFF, for viewers (the zoo's "sample tensors")
    tifffile.imwrite(files["sample_input"], test_input.astype(np.float32))
    tifffile.imwrite(files["sample_output"], output)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(traced, str(files["torchscript"]))
    torch.save(maps.state_dict(), files["state_dict"])
    files["documentation"].write_text(documentation(card, text))
    spatial = card["ndim"]
    panels = [("raw", display_grey(np.moveaxis(test_input[0], 0, -1), spatial))]
    panels += [
        (name, middle_slice(plane, spatial)) for name, plane in zip(card["channels"], output[0])
    ]
    save_panels(panels[:4], files["cover"], text.name, dpi=60)
    description = model_description(card, text, decoder, halo, test_input, files)
    (folder / DESCRIPTION_FILE).write_text(yaml_text(description))
    return description


def yaml_text(data: dict) -> str:
    """YAML of plain data, written out in full (no anchors: some readers refuse them)."""
    import yaml

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: object) -> bool:
            return True

    return yaml.dump(data, Dumper=Dumper, sort_keys=False)


def zip_folder(folder: Path, archive: Path) -> None:
    """The package folder as one .zip (rdf.yaml at its root)."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        for path in sorted(folder.iterdir()):
            handle.write(path, path.name)


def is_package(path: str | Path) -> bool:
    """Whether ``path`` is a BMZ package: a .zip, or a folder holding rdf.yaml."""
    path = Path(path)
    return (path.is_dir() and (path / DESCRIPTION_FILE).is_file()) or (
        path.suffix == ".zip" and path.is_file()
    )


def _package_file(path: Path, names: Sequence[str]) -> bytes:
    """The first of ``names`` that the package (folder or .zip) holds."""
    if path.is_dir():
        found = [path / name for name in names if (path / name).is_file()]
        if not found:
            raise KeyError(names[0])
        return found[0].read_bytes()
    with zipfile.ZipFile(path) as archive:
        held = set(archive.namelist())
        name = next((n for n in names if n in held), names[0])
        return archive.read(name)


def read_package(path: str | Path) -> tuple[dict, dict]:
    """(model card, state dict of the network) of a package segpipe exported; only its
    description and state-dict weights are read."""
    import io

    import yaml

    path = Path(path)
    try:
        # a package the zoo's tools wrote again may call its description bioimageio.yaml
        text = _package_file(path, (DESCRIPTION_FILE, "bioimageio.yaml"))
        description = yaml.safe_load(text) or {}
        card = (description.get("config") or {}).get("segpipe", {}).get("card")
        if card is None:
            raise ValueError(
                f"{path}: this BioImage Model Zoo package was not exported by segpipe (no "
                "config.segpipe): segpipe needs its channel codes and normalisation to use it"
            )
        source = description["weights"]["pytorch_state_dict"]["source"]
        weights = _package_file(path, (source,))
    except (OSError, KeyError, TypeError, zipfile.BadZipFile, yaml.YAMLError) as error:
        raise ValueError(f"{path} is not a readable BioImage Model Zoo package ({error})") from None
    state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
    prefix = "network."
    return card, {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def card_json(meta: dict) -> dict:
    """A model card as plain JSON types (tuples to lists)."""
    return json.loads(json.dumps(meta))
