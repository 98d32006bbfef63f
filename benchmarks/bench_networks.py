"""Parameter counts of segpipe's networks against BiaPy 3.7.1's, built from the same MODEL keys.

Run inside the benchmark-only environment made by ``setup_biapy_env.sh`` (BiaPy installed
without its dependencies: its package __init__, torchinfo and torchvision are stood in for,
as only the modules' constructors run):

    benchmarks/.venv-biapy/bin/python benchmarks/bench_networks.py

Prints one Markdown row per configuration; the counts must be equal.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
import types

import torch

from stages.nn.model import build_model
from stages.nn.settings import ModelSpec

#: (name, our spec, BiaPy's constructor keywords), each the same MODEL keys
CASES = [
    ("2D U-Net, BiaPy's defaults (in, no dropout)", {"ndim": 2}, {}),
    ("2D U-Net, bn, dropout 0.1", {"ndim": 2, "norm": "bn", "dropout": (0.1,) * 5},
     {"normalization": "bn", "drop_values": [0.1] * 5}),
    ("2D U-Net, LARGER_IO", {"ndim": 2, "larger_io": True}, {"larger_io": True}),
    ("2D U-Net, upsampling, kernel 5", {"ndim": 2, "upsample": "upsampling", "kernel": 5},
     {"upsample_layer": "upsampling", "k_size": 5}),
    ("3D U-Net, Z_DOWN [1,2,2,2]", {"ndim": 3, "z_down": (1, 2, 2, 2)},
     {"z_down": [1, 2, 2, 2]}),
    ("3D U-Net, flat kernels, LARGER_IO", {"ndim": 3, "isotropy": (False,) * 5, "larger_io": True},
     {"isotropy": [False] * 5, "larger_io": True}),
    ("3D U-Net, ISOTROPY [t,t,f,f,f]", {"ndim": 3, "isotropy": (True, True, False, False, False)},
     {"isotropy": [True, True, False, False, False]}),
]  # fmt: skip


def load_biapy_models():
    """BiaPy's model modules without its package __init__ or torchvision (only constructors run)."""
    spec = importlib.util.find_spec("biapy")
    if spec is None:
        sys.exit(
            "BiaPy is not installed here: run benchmarks/setup_biapy_env.sh and use its python"
        )
    root = list(spec.submodule_search_locations)[0]
    stubs = {
        "biapy": types.ModuleType("biapy"),
        "biapy.models": types.ModuleType("biapy.models"),
        "torchvision": types.ModuleType("torchvision"),
        "torchvision.ops": types.ModuleType("torchvision.ops"),
        "torchvision.ops.stochastic_depth": types.ModuleType("torchvision.ops.stochastic_depth"),
        "torchvision.ops.misc": types.ModuleType("torchvision.ops.misc"),
    }
    stubs["biapy"].__path__ = [root]
    stubs["biapy.models"].__path__ = [f"{root}/models"]
    stubs["torchvision"].__path__ = stubs["torchvision.ops"].__path__ = []
    stubs["torchvision.ops.stochastic_depth"].StochasticDepth = torch.nn.Identity
    stubs["torchvision.ops.misc"].Permute = torch.nn.Identity
    sys.modules.update(stubs)
    from biapy.models.unet import U_Net

    return {"unet": U_Net}


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def main() -> None:
    biapy = load_biapy_models()
    print("| network | BiaPy 3.7.1 | segpipe | equal |")
    print("|---|---|---|---|")
    for name, ours, theirs in CASES:
        ndim = ours["ndim"]
        shape = (256, 256, 1) if ndim == 2 else (20, 128, 128, 1)
        keywords = {
            "image_shape": shape,
            "feature_maps": [16, 32, 64, 128, 256],
            "drop_values": [0.0] * 5,
            "activation": "elu",
            "normalization": "in",
            "output_channels": [2],
            "larger_io": False,
            "isotropy": [True] * 5,
            "z_down": [2, 2, 2, 2],
            **theirs,
        }
        with contextlib.redirect_stdout(io.StringIO()):  # BiaPy prints its heads
            reference = count(biapy["unet"](**keywords))
        spec = ModelSpec(in_channels=1, out_channels=2, **ours)
        mine = count(build_model(spec))
        print(f"| {name} | {reference:,} | {mine:,} | {'yes' if reference == mine else 'NO'} |")


if __name__ == "__main__":
    main()
