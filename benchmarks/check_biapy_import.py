"""BiaPy 3.7.1's trained weights in segpipe's networks: equal outputs, architecture by architecture.

Run inside the benchmark-only environment made by ``setup_biapy_env.sh``:

    benchmarks/.venv-biapy/bin/python benchmarks/check_biapy_import.py

For every configuration of ``bench_networks.py`` (the same MODEL keys on both sides), BiaPy's
network is built with random weights (batch norm statistics randomised too), its state dict
is paired into segpipe's network (:func:`stages.nn.foreign_weights.pair_biapy_weights`) and
both predict the same random input. Prints one Markdown row per configuration: whether the
weights paired and the largest difference of the outputs.

Then ``segpipe import-biapy`` end to end, per importable architecture: a checkpoint saved as
BiaPy 3.7.1's ``save_model`` saves one (state dict, optimizer, epoch, its whole config as a
plain dict, version), with BiaPy's config defaults for instance segmentation and the MODEL
keys varied, imported by the command; the model it writes predicts the stardist 2D/3D image
as BiaPy's network does.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_networks import CASES, DEFAULTS, biapy_keywords, load_biapy_models  # noqa: E402
from check_biapy_config import biapy_defaults  # noqa: E402

from stages.nn.foreign_weights import WeightPairingError, pair_biapy_weights  # noqa: E402
from stages.nn.model import build_model  # noqa: E402
from stages.nn.settings import ModelSpec  # noqa: E402

#: input sizes small enough for every case on a CPU (multiples of the networks' pooling)
SHAPES = {2: (64, 64), 3: (64, 64, 64)}


def randomised(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """``module`` with random norm statistics and affine parameters (not 0/1), so that a norm
    paired with the wrong layer shows."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if tensor.dtype.is_floating_point and (
                name.endswith(("running_mean", "running_var")) or tensor.ndim == 1
            ):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
    return module.eval()


class Permute(torch.nn.Module):
    """torchvision's Permute (torchvision is stood in for here: its layers do nothing, which
    is enough to count parameters but not to run U-NeXt's layer norms)."""

    def __init__(self, dims: list[int]):
        super().__init__()
        self.dims = list(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.permute(x, self.dims)


def runnable(biapy: dict) -> dict:
    """BiaPy's model classes with the stood-in Permute replaced by a real one."""
    for name in ("biapy.models.blocks", "biapy.models.unext_v1", "biapy.models.unext_v2"):
        if hasattr(sys.modules.get(name), "Permute"):
            sys.modules[name].Permute = Permute
    return biapy


def prediction(output) -> torch.Tensor:
    """BiaPy's networks return a dict (``pred``, and ``class`` with a class head)."""
    if isinstance(output, dict):
        return torch.cat([output["pred"]] + ([output["class"]] if "class" in output else []), 1)
    return output


def main() -> None:
    biapy = runnable(load_biapy_models())
    print("| network | paired | largest difference |")
    print("|---|---|---|")
    for name, architecture, ours, theirs in CASES:
        ndim = ours["ndim"]
        shape = SHAPES[ndim]
        keywords = biapy_keywords(architecture, ndim, theirs)
        for key in ("image_shape", "input_shape"):
            if key in keywords:
                keywords[key] = (*shape, 1)
        torch.manual_seed(0)
        with contextlib.redirect_stdout(io.StringIO()):  # BiaPy prints its heads
            reference = randomised(biapy[architecture](**keywords), 1)
        spec = ModelSpec(
            in_channels=1, out_channels=2, architecture=architecture, patch=shape,
            feature_maps=tuple(DEFAULTS["feature_maps"]), **ours,
        )  # fmt: skip
        model = build_model(spec).eval()
        example = torch.rand(1, 1, *shape)
        try:
            weights = pair_biapy_weights(reference.state_dict(), model, example)
        except WeightPairingError as error:
            print(f"| {name} | no: {error} | |", flush=True)
            continue
        model.load_state_dict(weights)
        try:
            with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
                expected = prediction(reference(example))
        except RuntimeError as error:
            print(f"| {name} | yes | BiaPy's own forward fails: {error} |", flush=True)
            continue
        with torch.no_grad():
            found = model(example)
        if expected.shape != found.shape:
            print(f"| {name} | yes | shapes {tuple(expected.shape)} and {tuple(found.shape)} |")
            continue
        difference = float((expected - found).abs().max())
        print(f"| {name} | yes | {difference:.2e} |", flush=True)


#: (architecture, ndim, keys of BiaPy's config, the class's keywords they become)
IMPORTS = [
    ("unet", 2, {}, {}),
    ("unet", 3, {"MODEL.Z_DOWN": [1, 2, 2, 2], "MODEL.NORMALIZATION": "bn"},
     {"z_down": [1, 2, 2, 2], "normalization": "bn"}),
    ("unet", 2, {"DATA.N_CLASSES": 3},
     {"output_channels": [2, 3], "output_channel_info": ["F+C", "class"]}),
    ("resunet", 2, {"MODEL.LARGER_IO": True, "MODEL.CONV_BLOCK_ORDER": "norm_act_conv"},
     {"larger_io": True, "conv_block_order": "norm_act_conv"}),
    ("resunet", 3, {"MODEL.UPSAMPLE_LAYER": "upsampling"}, {"upsample_layer": "upsampling"}),
    ("attention_unet", 2, {}, {}),
    ("resunet++", 2, {}, {}),
    ("resunet++", 3, {"MODEL.LARGER_IO": True}, {"larger_io": True}),
    ("seunet", 3, {"MODEL.Z_DOWN": [1, 1, 2, 2]}, {"z_down": [1, 1, 2, 2]}),
    ("unext_v1", 2, {}, {}),
    ("hrnet", 2, {"MODEL.HRNET.VARIANT": "W18", "MODEL.NORMALIZATION": "bn",
                  "MODEL.ACTIVATION": "relu"},
     {"variant": 18, "norm": "bn", "activation": "relu"}),
    ("unext_v2", 3, {"MODEL.CONV_LAYERS": [1, 1, 2, 2, 3]}, {"cn_layers": [1, 1, 2, 2, 3]}),
    ("resunet_se", 2, {"MODEL.DROPOUT_VALUES": [0.1, 0.1, 0.2, 0.2, 0.3]},
     {"drop_values": [0.1, 0.1, 0.2, 0.2, 0.3]}),
]  # fmt: skip


def biapy_checkpoint(path: Path, architecture: str, ndim: int, keys: dict, keywords: dict,
                     biapy: dict) -> torch.nn.Module:  # fmt: skip
    """A BiaPy network with random weights, saved as BiaPy 3.7.1 saves a checkpoint."""
    from stages.config.keys import set_key

    patch = [32, 64, 64, 1] if ndim == 3 else [64, 64, 1]
    config: dict = {}
    for dotted, value in DEFAULT_CONFIG.items():
        set_key(config, dotted, value)
    config["PROBLEM"].update({"TYPE": "INSTANCE_SEG", "NDIM": f"{ndim}D"})
    config["PROBLEM"]["INSTANCE_SEG"]["DATA_CHANNELS"] = ["F", "C"]
    config["DATA"]["PATCH_SIZE"] = patch
    if ndim == 3:  # the per-axis keys a 3D config of BiaPy's sets
        for split in ("TRAIN", "VAL", "TEST"):
            config["DATA"][split]["OVERLAP"] = [0, 0, 0]
            config["DATA"][split]["PADDING"] = [0, 0, 0]
    config["MODEL"]["ARCHITECTURE"] = architecture
    for dotted, value in keys.items():
        set_key(config, dotted, value)
    # HRNet's keywords are its own (BiaPy's build_model expands VARIANT into a cfg)
    arguments = biapy_keywords(architecture, ndim, keywords if architecture == "hrnet" else {})
    model = config["MODEL"]
    # BiaPy's check_configuration turns the 0 placeholders into the network's 2s
    downs = {key: [v or 2 for v in model[key]] for key in ("Z_DOWN", "YX_DOWN")}
    arguments.update({
        "image_shape": tuple(patch), "feature_maps": model["FEATURE_MAPS"],
        "drop_values": model["DROPOUT_VALUES"], "normalization": model["NORMALIZATION"],
        "z_down": downs["Z_DOWN"], "yx_down": downs["YX_DOWN"], "isotropy": model["ISOTROPY"],
        "larger_io": model["LARGER_IO"],
        **({} if architecture == "hrnet" else keywords),
    })  # fmt: skip
    accepted = inspect.signature(biapy[architecture]).parameters
    arguments = {k: v for k, v in arguments.items() if k in accepted}
    torch.manual_seed(0)
    with contextlib.redirect_stdout(io.StringIO()):
        network = randomised(biapy[architecture](**arguments), 2)
    torch.save({"model_build_kwargs": None, "model": network.state_dict(), "optimizer": [{}],
                "epoch": 41, "cfg": config, "biapy_version": "3.7.1"}, path)  # fmt: skip
    return network


def check_imports(biapy: dict) -> None:
    import subprocess
    import tempfile

    import numpy as np
    import tifffile

    from stages.demo import stardist_data_folder
    from stages.nn.model import load_model

    print("\n| BiaPy checkpoint | imported | largest difference on the stardist image |")
    print("|---|---|---|")
    folder = stardist_data_folder()
    volume = tifffile.imread(folder / "img3d.tif")  # 31x61x57: mirrored to 64 a side
    volume = np.pad(volume, [(0, 64 - s) for s in volume.shape], mode="reflect")
    images = {2: tifffile.imread(folder / "img2d.tif")[:64, :64], 3: volume}
    with tempfile.TemporaryDirectory() as work:
        for architecture, ndim, keys, keywords in IMPORTS:
            name = f"{ndim}D {architecture} {keys or ''}".strip()
            checkpoint = Path(work) / f"{architecture}-{ndim}d.pth"
            reference = biapy_checkpoint(checkpoint, architecture, ndim, keys, keywords, biapy)
            out = Path(work) / f"{architecture}-{ndim}d.pt"
            command = [sys.executable, "-m", "stages", "import-biapy", str(checkpoint), str(out)]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode:
                print(f"| {name} | no: {done.stderr.strip().splitlines()[-1]} | |", flush=True)
                continue
            model, card = load_model(out)
            image = images[ndim].astype(np.float32)
            example = torch.from_numpy((image - image.mean()) / image.std())[None, None]
            with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
                expected = prediction(reference(example))
                found = model(example)
            difference = float((expected - found).abs().max())
            print(f"| {name} | yes ({', '.join(card['channels'])}) | {difference:.2e} |",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    DEFAULT_CONFIG = biapy_defaults()  # read before the models' stand-in package replaces biapy
    if "--imports-only" not in sys.argv:
        main()
    check_imports(runnable(load_biapy_models()))
