"""Parameter counts of segpipe's networks against BiaPy 3.7.1's, built from the same MODEL keys.

Run inside the benchmark-only environment made by ``setup_biapy_env.sh`` (BiaPy installed
without its dependencies: its package __init__, torchinfo and torchvision are stood in for,
as only the modules' constructors run):

    benchmarks/.venv-biapy/bin/python benchmarks/bench_networks.py

Prints one Markdown row per configuration; the counts must be equal.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import io
import sys
import types

import torch

from stages.nn.model import build_model
from stages.nn.settings import ModelSpec

#: the MODEL keys both sides start from (BiaPy 3.7.1's defaults, two output channels)
DEFAULTS = {"feature_maps": [16, 32, 64, 128, 256], "norm": "in", "activation": "elu"}

#: (row, architecture, our spec keywords, BiaPy's constructor keywords), the same MODEL keys
CASES = [
    ("2D U-Net, BiaPy's defaults (in, no dropout)", "unet", {"ndim": 2}, {}),
    ("2D U-Net, bn, dropout 0.1", "unet", {"ndim": 2, "norm": "bn", "dropout": (0.1,) * 5},
     {"normalization": "bn", "drop_values": [0.1] * 5}),
    ("2D U-Net, LARGER_IO", "unet", {"ndim": 2, "larger_io": True}, {"larger_io": True}),
    ("2D U-Net, upsampling, kernel 5", "unet", {"ndim": 2, "upsample": "upsampling", "kernel": 5},
     {"upsample_layer": "upsampling", "k_size": 5}),
    ("3D U-Net, Z_DOWN [1,2,2,2]", "unet", {"ndim": 3, "z_down": (1, 2, 2, 2)},
     {"z_down": [1, 2, 2, 2]}),
    ("3D U-Net, flat kernels, LARGER_IO", "unet",
     {"ndim": 3, "isotropy": (False,) * 5, "larger_io": True},
     {"isotropy": [False] * 5, "larger_io": True}),
    ("3D U-Net, ISOTROPY [t,t,f,f,f]", "unet",
     {"ndim": 3, "isotropy": (True, True, False, False, False)},
     {"isotropy": [True, True, False, False, False]}),
    ("2D U-Net, CONV_LAYERS [1,2,3,2,1]", "unet", {"ndim": 2, "conv_layers": (1, 2, 3, 2, 1)},
     {"conv_layers": [1, 2, 3, 2, 1]}),
    ("2D Residual U-Net", "resunet", {"ndim": 2}, {}),
    ("3D Residual U-Net, upsampling, LARGER_IO", "resunet",
     {"ndim": 3, "upsample": "upsampling", "larger_io": True},
     {"upsample_layer": "upsampling", "larger_io": True}),
    ("2D Residual U-Net, CONV_LAYERS [3]*5", "resunet", {"ndim": 2, "conv_layers": (3,) * 5},
     {"conv_layers": [3] * 5}),
    ("2D Attention U-Net", "attention_unet", {"ndim": 2}, {}),
    ("3D Attention U-Net, bn", "attention_unet", {"ndim": 3, "norm": "bn"},
     {"normalization": "bn"}),
    ("2D SEUNet", "seunet", {"ndim": 2}, {}),
    ("3D SEUNet, Z_DOWN [1,1,2,2]", "seunet", {"ndim": 3, "z_down": (1, 1, 2, 2)},
     {"z_down": [1, 1, 2, 2]}),
    ("2D ResUNet SE", "resunet_se", {"ndim": 2}, {}),
    ("3D ResUNet SE, upsampling", "resunet_se", {"ndim": 3, "upsample": "upsampling"},
     {"upsample_layer": "upsampling"}),
    ("2D ResUNet++", "resunet++", {"ndim": 2}, {}),
    ("3D ResUNet++, LARGER_IO", "resunet++", {"ndim": 3, "larger_io": True},
     {"larger_io": True}),
    ("2D MultiResUNet", "multiresunet", {"ndim": 2}, {}),
    ("3D MultiResUNet", "multiresunet", {"ndim": 3}, {}),
    ("2D U-NeXt V1", "unext_v1", {"ndim": 2}, {}),
    ("3D U-NeXt V1, upsampling, stem 4", "unext_v1",
     {"ndim": 3, "upsample": "upsampling", "convnext_stem_kernel": 4},
     {"upsample_layer": "upsampling", "stem_k_size": 4}),
    ("2D U-NeXt V2", "unext_v2", {"ndim": 2}, {}),
    ("3D U-NeXt V2, CONV_LAYERS [1,1,2,2,3]", "unext_v2",
     {"ndim": 3, "conv_layers": (1, 1, 2, 2, 3)}, {"cn_layers": [1, 1, 2, 2, 3]}),
    ("2D UNETR, BiaPy's defaults (ViT-B/16)", "unetr", {"ndim": 2}, {}),
    ("2D UNETR, ViT 384/6/6, token 8", "unetr",
     {"ndim": 2, "vit_embed_dim": 384, "vit_num_layers": 6, "vit_num_heads": 6,
      "vit_token_size": 8},
     {"embed_dim": 384, "depth": 6, "num_heads": 6, "patch_size": 8}),
    ("3D UNETR, ViT 192/4/3, 32 filters", "unetr",
     {"ndim": 3, "vit_embed_dim": 192, "vit_num_layers": 4, "vit_num_heads": 3,
      "unetr_num_filters": 32},
     {"embed_dim": 192, "depth": 4, "num_heads": 3, "num_filters": 32}),
    ("2D HRNet W18 (bn, relu)", "hrnet", {"ndim": 2, "hrnet_variant": "W18", "norm": "bn",
     "activation": "relu"}, {"variant": 18, "norm": "bn", "activation": "relu"}),
    ("2D HRNet W48", "hrnet", {"ndim": 2, "hrnet_variant": "W48"}, {"variant": 48}),
    ("3D HRNet W32", "hrnet", {"ndim": 3, "hrnet_variant": "W32"}, {"variant": 32}),
    ("3D HRNet custom, 2 stages", "hrnet",
     {"ndim": 3, "hrnet_variant": "custom", "hrnet_modules": (1, 2), "hrnet_branches": (2, 3),
      "hrnet_blocks": ((2, 2), (1, 1, 1)), "hrnet_channels": ((8, 16), (8, 16, 32)),
      "hrnet_z_down": (1, 2), "hrnet_yx_down": (2, 2)},
     {"cfg": {"NUM_STAGES": 2, "NUM_MODULES": [1, 2], "NUM_BRANCHES": [2, 3],
              "NUM_BLOCKS": [[2, 2], [1, 1, 1]], "NUM_CHANNELS": [[8, 16], [8, 16, 32]],
              "BLOCK_TYPE": "BASIC", "Z_DOWN": [1, 2], "YX_DOWN": [2, 2]}}),
    *[(f"{'2D' if ndim == 2 else '3D'} {name}, pre-activation (norm_act_conv){extra}",
       architecture, {"ndim": ndim, "conv_block_order": "norm_act_conv", **ours},
       {"conv_block_order": "norm_act_conv", **theirs})
      for name, architecture, ndim, extra, ours, theirs in [
          ("U-Net", "unet", 2, ", LARGER_IO", {"larger_io": True}, {"larger_io": True}),
          ("U-Net", "unet", 3, "", {}, {}),
          ("Residual U-Net", "resunet", 2, ", CONV_LAYERS [3]*5", {"conv_layers": (3,) * 5},
           {"conv_layers": [3] * 5}),
          ("Residual U-Net", "resunet", 3, ", LARGER_IO", {"larger_io": True},
           {"larger_io": True}),
          ("ResUNet++", "resunet++", 2, "", {}, {}),
          ("SEUNet", "seunet", 2, "", {}, {}),
          ("ResUNet SE", "resunet_se", 3, "", {}, {}),
          ("Attention U-Net", "attention_unet", 2, ", bn", {"norm": "bn"},
           {"normalization": "bn"}),
      ]],
    *[(f"2D HRNet W18, {head} head (+ the 1x1 conv to 2 channels: 514)", "hrnet",
       {"ndim": 2, "hrnet_variant": "W18", "norm": "bn", "activation": "relu", "hrnet_head": head},
       {"variant": 18, "norm": "bn", "activation": "relu", "head": head})
      for head in ("ASPP", "PSP", "OCR")],
    *[(f"3D HRNet custom, {head} head (+ 514)", "hrnet",
       {"ndim": 3, "hrnet_variant": "custom", "hrnet_modules": (1, 2), "hrnet_branches": (2, 3),
        "hrnet_blocks": ((2, 2), (1, 1, 1)), "hrnet_channels": ((8, 16), (8, 16, 32)),
        "hrnet_z_down": (1, 2), "hrnet_yx_down": (2, 2), "hrnet_head": head},
       {"cfg": {"NUM_STAGES": 2, "NUM_MODULES": [1, 2], "NUM_BRANCHES": [2, 3],
                "NUM_BLOCKS": [[2, 2], [1, 1, 1]], "NUM_CHANNELS": [[8, 16], [8, 16, 32]],
                "BLOCK_TYPE": "BASIC", "Z_DOWN": [1, 2], "YX_DOWN": [2, 2]}, "head": head})
      for head in ("ASPP", "PSP")],
    ("2D STU-Net small", "stunet", {"ndim": 2, "stunet_variant": "small"}, {"variant": "small"}),
    ("3D STU-Net base", "stunet", {"ndim": 3, "stunet_variant": "base"}, {"variant": "base"}),
    ("3D STU-Net large", "stunet", {"ndim": 3, "stunet_variant": "large"}, {"variant": "large"}),
    ("3D STU-Net custom", "stunet",
     {"ndim": 3, "stunet_variant": "custom", "stunet_depth": (1, 2, 2), "stunet_dims": (8, 16, 32),
      "stunet_pools": ((1, 2, 2), (2, 2, 2)), "stunet_kernels": ((1, 3, 3), (3, 3, 3), (3, 3, 3))},
     {"variant": "custom", "depth": [1, 2, 2], "dims": [8, 16, 32],
      "pool_op_kernel_sizes": [[1, 2, 2], [2, 2, 2]],
      "conv_kernel_sizes": [[1, 3, 3], [3, 3, 3], [3, 3, 3]]}),
]  # fmt: skip


def hrnet_variant_cfg(width: int) -> dict:
    """BiaPy's build_model expansion of an HRNet VARIANT (three stages, 1/4/3 modules)."""
    branches = [2, 3, 4]
    return {
        "NUM_STAGES": 3, "NUM_MODULES": [1, 4, 3], "NUM_BRANCHES": branches,
        "NUM_BLOCKS": [[4] * b for b in branches],
        "NUM_CHANNELS": [[width * 2**i for i in range(b)] for b in branches],
        "BLOCK_TYPE": "BASIC", "Z_DOWN": [1, 1, 1], "YX_DOWN": [2, 2, 2],
    }  # fmt: skip


class _Anything(type):
    """A stand-in for any name of a package that is not installed: a layer that does nothing,
    whose attributes are stand-ins too (only the measured modules' constructors run)."""

    def __getattr__(cls, attribute):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return _Anything(attribute, (torch.nn.Identity,), {})


class _StandIns(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports ``torchvision`` (and its submodules) as stand-ins: timm and BiaPy import it,
    and its wheels need a matching torch."""

    def find_spec(self, name, path=None, target=None):
        if name == "torchvision" or name.startswith("torchvision."):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__path__ = []
        module.__getattr__ = lambda attribute: _Anything.__getattr__(_Anything, attribute)
        return module

    def exec_module(self, module):
        pass


def load_biapy_models():
    """BiaPy's model classes without its package __init__ (only constructors run)."""
    spec = importlib.util.find_spec("biapy")
    if spec is None:
        sys.exit(
            "BiaPy is not installed here: run benchmarks/setup_biapy_env.sh and use its python"
        )
    root = list(spec.submodule_search_locations)[0]
    stubs = {"biapy": types.ModuleType("biapy"), "biapy.models": types.ModuleType("biapy.models")}
    stubs["biapy"].__path__ = [root]
    stubs["biapy.models"].__path__ = [f"{root}/models"]
    sys.modules.update(stubs)
    sys.meta_path.insert(0, _StandIns())
    classes = {
        "unet": ("unet", "U_Net"),
        "resunet": ("resunet", "ResUNet"),
        "attention_unet": ("attention_unet", "Attention_U_Net"),
        "seunet": ("seunet", "SE_U_Net"),
        "resunet_se": ("resunet_se", "ResUNet_SE"),
        "resunet++": ("resunet++", "ResUNetPlusPlus"),
        "multiresunet": ("multiresunet", "MultiResUnet"),
        "unext_v1": ("unext_v1", "U_NeXt_V1"),
        "unext_v2": ("unext_v2", "U_NeXt_V2"),
        "unetr": ("unetr", "UNETR"),
        "hrnet": ("hrnet", "HighResolutionNet"),
        "stunet": ("stunet", "build_stunet"),
    }
    return {
        name: getattr(importlib.import_module(f"biapy.models.{module}"), cls)
        for name, (module, cls) in classes.items()
    }


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def biapy_keywords(architecture: str, ndim: int, theirs: dict) -> dict:
    """BiaPy's constructor keywords for the MODEL keys, as its build_model passes them."""
    shape = (256, 256, 1) if ndim == 2 else (128, 128, 128, 1)
    if architecture == "hrnet":
        cfg = theirs.get("cfg") or hrnet_variant_cfg(theirs["variant"])
        return {
            "cfg": cfg, "image_shape": shape, "output_channels": [2],
            "head_type": theirs.get("head", "FCN"),
            "normalization": theirs.get("norm", "in"),
            "activation": theirs.get("activation", "elu"),
        }  # fmt: skip
    if architecture == "stunet":
        return {"image_shape": shape, "output_channels": [2], "deep_supervision": False, **theirs}
    if architecture == "multiresunet":
        return {"ndim": ndim, "input_channels": 1, "output_channels": [2], **theirs}
    if architecture == "unetr":
        return {
            "input_shape": shape, "patch_size": 16, "embed_dim": 768, "depth": 12,
            "num_heads": 12, "mlp_ratio": 4.0, "num_filters": 16, "output_channels": [2],
            "decoder_activation": "elu", "normalization": "in", "dropout": 0.0, "k_size": 3,
            **theirs,
        }  # fmt: skip
    keywords = {
        "image_shape": shape,
        "feature_maps": DEFAULTS["feature_maps"],
        "output_channels": [2],
        "isotropy": [True] * 5,
        "z_down": [2, 2, 2, 2],
        "upsample_layer": "convtranspose",
    }
    if architecture.startswith("unext"):
        keywords["cn_layers"] = [2] * 5
        return {**keywords, **theirs}
    return {
        **keywords,
        "drop_values": [0.0] * 5,
        "activation": "elu",
        "normalization": "in",
        "larger_io": False,
        **theirs,
    }


def main() -> None:
    biapy = load_biapy_models()
    print("| network | BiaPy 3.7.1 | segpipe | equal |")
    print("|---|---|---|---|")
    for name, architecture, ours, theirs in CASES:
        ndim = ours["ndim"]
        with contextlib.redirect_stdout(io.StringIO()):  # BiaPy prints its heads
            reference = count(biapy[architecture](**biapy_keywords(architecture, ndim, theirs)))
        if theirs.get("head", "FCN") != "FCN":
            # BiaPy's context heads end at their 256 channels: segpipe classifies them
            reference += 256 * 2 + 2
        patch = (256, 256) if ndim == 2 else (128, 128, 128)
        spec = ModelSpec(
            in_channels=1, out_channels=2, architecture=architecture, patch=patch,
            feature_maps=tuple(DEFAULTS["feature_maps"]), **ours,
        )  # fmt: skip
        mine = count(build_model(spec))
        print(f"| {name} | {reference:,} | {mine:,} | {'yes' if reference == mine else 'NO'} |")


if __name__ == "__main__":
    main()
