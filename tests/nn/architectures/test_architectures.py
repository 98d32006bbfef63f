"""Every architecture of the registry: BiaPy's parameters, one training epoch, a resume and a
prediction with test-time augmentation, in 2D and 3D."""

import numpy as np
import pytest
import torch

from stages.channels import encode_channels
from stages.commands.train import settings_from_config
from stages.config import ConfigError, resolve_config
from stages.nn.architectures import ARCHITECTURES
from stages.nn.data import Sample
from stages.nn.export import ChannelMaps, trace
from stages.nn.model import build_model, load_model
from stages.nn.patches import patch_grid
from stages.nn.predict import predict_cores
from stages.nn.run import train_in_folder
from stages.nn.settings import ModelSpec

#: the spec's eleven networks (UNETR-Mini/Small/Base are one UNETR sized by the VIT_* keys) and
#: BiaPy 3.7.1's other instance segmentation networks: U-NeXt V2, HRNet and STU-Net
SPEC_ARCHITECTURES = [
    "unet", "resunet", "attention_unet", "seunet", "multiresunet", "resunet++", "unetr",
    "resunet_se", "unext_v1", "unext_v2", "hrnet", "stunet",
]  # fmt: skip

#: parameters of BiaPy 3.7.1's networks for the same keys (benchmarks/bench_networks.py, run
#: where BiaPy is installed): two output channels, FEATURE_MAPS [16, 32, 64, 128, 256],
#: instance norm, ELU
BIAPY_PARAMETERS = [
    ({"architecture": "resunet", "ndim": 2}, 2_423_938),
    ({"architecture": "resunet", "ndim": 2, "conv_layers": (3,) * 5}, 3_407_650),
    ({"architecture": "resunet", "ndim": 3, "upsample": "upsampling", "larger_io": True},
     6_037_810),
    ({"architecture": "attention_unet", "ndim": 2}, 1_966_630),
    ({"architecture": "attention_unet", "ndim": 3, "norm": "bn"}, 5_670_726),
    ({"architecture": "seunet", "ndim": 2}, 1_971_522),
    ({"architecture": "seunet", "ndim": 3, "z_down": (1, 1, 2, 2)}, 5_665_378),
    ({"architecture": "resunet_se", "ndim": 2}, 3_311_730),
    ({"architecture": "resunet_se", "ndim": 3, "upsample": "upsampling"}, 8_847_794),
    ({"architecture": "resunet++", "ndim": 2}, 3_970_389),
    ({"architecture": "resunet++", "ndim": 3, "larger_io": True}, 11_195_749),
    ({"architecture": "multiresunet", "ndim": 2}, 7_251_126),
    ({"architecture": "multiresunet", "ndim": 3}, 18_645_510),
    ({"architecture": "unext_v1", "ndim": 2}, 2_225_570),
    ({"architecture": "unext_v1", "ndim": 3, "upsample": "upsampling",
      "convnext_stem_kernel": 4}, 2_718_178),
    ({"architecture": "unext_v2", "ndim": 2}, 2_235_874),
    ({"architecture": "unext_v2", "ndim": 3, "conv_layers": (1, 1, 2, 2, 3)}, 3_579_138),
    ({"architecture": "unetr", "ndim": 2, "patch": (256, 256), "vit_embed_dim": 384,
      "vit_num_layers": 6, "vit_num_heads": 6, "vit_token_size": 8}, 11_529_906),
    ({"architecture": "unetr", "ndim": 3, "patch": (128,) * 3, "vit_embed_dim": 192,
      "vit_num_layers": 4, "vit_num_heads": 3, "unetr_num_filters": 32}, 14_356_770),
    ({"architecture": "hrnet", "ndim": 2, "hrnet_variant": "W18"}, 9_561_650),
    ({"architecture": "hrnet", "ndim": 3, "hrnet_variant": "W32"}, 86_980_226),
    ({"architecture": "hrnet", "ndim": 3, "hrnet_variant": "custom", "hrnet_modules": (1, 2),
      "hrnet_branches": (2, 3), "hrnet_blocks": ((2, 2), (1, 1, 1)),
      "hrnet_channels": ((8, 16), (8, 16, 32)), "hrnet_z_down": (1, 2), "hrnet_yx_down": (2, 2)},
     1_111_730),
    # pre-activation blocks (MODEL.CONV_BLOCK_ORDER norm_act_conv)
    ({"architecture": "unet", "ndim": 3, "conv_block_order": "norm_act_conv"}, 5_648_324),
    ({"architecture": "resunet", "ndim": 3, "conv_block_order": "norm_act_conv",
      "larger_io": True}, 6_734_612),
    ({"architecture": "resunet++", "ndim": 2, "conv_block_order": "norm_act_conv"}, 3_970_391),
    ({"architecture": "resunet_se", "ndim": 3, "conv_block_order": "norm_act_conv"}, 9_544_596),
    ({"architecture": "attention_unet", "ndim": 2, "conv_block_order": "norm_act_conv",
      "norm": "bn"}, 1_966_600),
    # the context heads: BiaPy's count plus the 1x1 conv to the two channels (514) it lacks
    ({"architecture": "hrnet", "ndim": 2, "hrnet_variant": "W18", "norm": "bn",
      "activation": "relu", "hrnet_head": "ASPP"}, 11_627_030),
    ({"architecture": "hrnet", "ndim": 2, "hrnet_variant": "W18", "norm": "bn",
      "activation": "relu", "hrnet_head": "PSP"}, 10_171_926),
    ({"architecture": "hrnet", "ndim": 2, "hrnet_variant": "W18", "norm": "bn",
      "activation": "relu", "hrnet_head": "OCR"}, 10_514_968),
    ({"architecture": "hrnet", "ndim": 3, "hrnet_variant": "custom", "hrnet_modules": (1, 2),
      "hrnet_branches": (2, 3), "hrnet_blocks": ((2, 2), (1, 1, 1)),
      "hrnet_channels": ((8, 16), (8, 16, 32)), "hrnet_z_down": (1, 2), "hrnet_yx_down": (2, 2),
      "hrnet_head": "PSP"}, 1_448_514),
    ({"architecture": "stunet", "ndim": 2, "stunet_variant": "small"}, 5_116_120),
    ({"architecture": "stunet", "ndim": 3, "stunet_variant": "base"}, 58_158_056),
    ({"architecture": "stunet", "ndim": 3, "stunet_variant": "custom", "stunet_depth": (1, 2, 2),
      "stunet_dims": (8, 16, 32), "stunet_pools": ((1, 2, 2), (2, 2, 2)),
      "stunet_kernels": ((1, 3, 3), (3, 3, 3), (3, 3, 3))}, 160_816),
]  # fmt: skip


def test_every_network_of_the_spec_is_registered():
    assert set(SPEC_ARCHITECTURES) <= set(ARCHITECTURES)


@pytest.mark.parametrize("keys, expected", BIAPY_PARAMETERS)
def test_each_network_has_biapys_parameters_for_the_same_keys(keys, expected):
    network = build_model(ModelSpec(in_channels=1, out_channels=2, **keys))
    assert sum(p.numel() for p in network.parameters()) == expected


def test_an_unknown_architecture_is_an_error_naming_the_valid_ones():
    with pytest.raises(ValueError, match="available: attention_unet, hrnet, multiresunet"):
        build_model(ModelSpec(ndim=2, in_channels=1, out_channels=1, architecture="segformer"))
    with pytest.raises(ConfigError, match="MODEL.ARCHITECTURE.*resunet_se"):
        resolve_config({"MODEL": {"ARCHITECTURE": "resnet"}})


#: MultiResUNet's fixed 18-million-parameter 3D network: its smallest patch (16 in every axis)
LIGHTEST_PATCH = {("multiresunet", 3): (16, 16, 16)}


def _patch(architecture: str, ndim: int) -> tuple[int, ...]:
    return LIGHTEST_PATCH.get((architecture, ndim), (32, 32) if ndim == 2 else (8, 32, 32))


def _config(architecture: str, ndim: int, epochs: int, norm: str = "bn", head: str = "FCN") -> dict:
    patch = [*_patch(architecture, ndim), 1]
    model = {"ARCHITECTURE": architecture, "FEATURE_MAPS": [4, 8, 16], "NORMALIZATION": norm}
    if architecture == "unetr":
        model.update(
            VIT_TOKEN_SIZE=8 if ndim == 2 else 4,
            VIT_EMBED_DIM=16,
            VIT_NUM_LAYERS=2,
            VIT_NUM_HEADS=2,
            UNETR_VIT_NUM_FILTERS=4,
        )
    if architecture == "hrnet":
        model["HRNET"] = {
            "VARIANT": "custom", "NUM_STAGES": 2, "NUM_MODULES": [1, 1], "NUM_BRANCHES": [2, 3],
            "NUM_BLOCKS": [[1, 1], [1, 1, 1]], "NUM_CHANNELS": [[4, 8], [4, 8, 16]],
            "Z_DOWN": [1, 2] if ndim == 3 else [], "YX_DOWN": [2, 2], "HEAD_TYPE": head,
        }  # fmt: skip
    if architecture == "stunet":
        model["STUNET"] = {
            "VARIANT": "custom", "DEPTH": [1, 1, 2], "DIMS": [4, 8, 16],
            "POOL_OP_KERNEL_SIZES": [[2] * ndim, [2] * ndim],
            "CONV_KERNEL_SIZES": [[3] * ndim] * 3,
        }  # fmt: skip
    config, _ = resolve_config(
        {
            "PROBLEM": {"NDIM": f"{ndim}D", "INSTANCE_SEG": {"DATA_CHANNELS": ["F", "C"]}},
            "DATA": {"PATCH_SIZE": patch, "TRAIN": {"REPLICATE": 1}},
            "MODEL": model,
            "TRAIN": {"EPOCHS": epochs, "BATCH_SIZE": 2, "LR": 1e-3},
        }
    )
    return config


def _sample(labels: np.ndarray) -> Sample:
    rng = np.random.default_rng(0)
    image = (labels > 0).astype(np.float32) + rng.normal(0, 0.3, labels.shape).astype(np.float32)
    return Sample(
        image=image[np.newaxis], targets=encode_channels(labels, ["F", "C"]), foreground=labels > 0
    )


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("architecture", SPEC_ARCHITECTURES)
def test_each_network_trains_resumes_and_predicts(
    architecture, ndim, tmp_path, mask2d, mask3d, interrupt_after_epoch
):
    torch.set_num_threads(1)
    labels = mask2d[:64, :64] if ndim == 2 else mask3d[:16, :32, :32]
    samples = [_sample(labels)]

    settings = settings_from_config(_config(architecture, ndim, 2))

    def train():
        return train_in_folder(
            samples, None, settings.loop, folder=tmp_path / "model", inputs_digest="a",
            normalization=settings.normalization, seed=0, log_csv=tmp_path / "log.csv",
            chart_png=tmp_path / "loss.png", progress=False,
        )  # fmt: skip

    interrupt_after_epoch(1)
    with pytest.raises(KeyboardInterrupt):
        train()
    interrupt_after_epoch(None)
    resumed = train()
    assert resumed.epochs == 2 and resumed.resumed_from == 1
    model, meta = load_model(tmp_path / "model" / "model.pt")
    assert meta["spec"]["architecture"] == architecture
    # an image whose size is no multiple of the network's, predicted with TTA
    patch = _patch(architecture, ndim)
    window = tuple(slice(0, p) for p in patch[:-1]) + (slice(0, patch[-1] - 3),)
    image = samples[0].image[0][window][..., np.newaxis]
    grid = patch_grid(image.shape[:-1], patch, [p // 8 for p in patch], [0] * ndim)
    cores = predict_cores(model, meta, image, grid, range(len(grid)), tta=True)
    assert cores.shape[:2] == (len(grid), 2) and np.isfinite(cores).all()
    assert cores.min() >= 0 and cores.max() <= 1  # sigmoid planes
    # and exports: the TorchScript of the zoo package gives the network's channel maps
    maps = ChannelMaps(model, meta["activations"]).eval()
    x = torch.randn(2, 1, *patch)
    with torch.no_grad():
        torch.testing.assert_close(trace(maps, x)(x), maps(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("ndim", [2, 3])
def test_unetr_takes_sizes_other_than_its_training_patch(ndim):
    spec = ModelSpec(
        ndim=ndim, in_channels=1, out_channels=2, architecture="unetr", patch=(16,) * ndim,
        vit_token_size=4, vit_embed_dim=8, vit_num_layers=2, vit_num_heads=2,
        unetr_num_filters=2,
    )  # fmt: skip
    network = build_model(spec).eval()
    size = (1, 1, 24, 40) if ndim == 2 else (1, 1, 8, 16, 28)
    with torch.no_grad():
        out = network(torch.zeros(size))
        odd = network(torch.zeros(size[:-1] + (size[-1] - 3,)))
    assert out.shape == (1, 2, *size[2:]) and odd.shape[-1] == size[-1] - 3


@pytest.mark.parametrize(
    "model, data, message",
    [
        ({"ARCHITECTURE": "unetr"}, {"PATCH_SIZE": [72, 72, 1]}, "multiple of its token size 16"),
        ({"ARCHITECTURE": "unetr", "VIT_EMBED_DIM": 100, "VIT_NUM_HEADS": 12}, {},
         "VIT_EMBED_DIM 100 must be a multiple"),
        ({"ARCHITECTURE": "unetr", "VIT_TOKEN_SIZE": 12}, {"PATCH_SIZE": [48, 48, 1]},
         "power of two"),
        ({"CONV_LAYERS": [2, 2]}, {}, "CONV_LAYERS has 2 value"),
        ({"ARCHITECTURE": "resunet++", "FEATURE_MAPS": [8, 16]}, {}, "at least 3"),
        ({"CONV_BLOCK_ORDER": "norm_act_conv", "ARCHITECTURE": "multiresunet"}, {},
         "CONV_BLOCK_ORDER norm_act_conv .pre-activation. applies to unet"),
        ({"YX_DOWN": [2, 2]}, {}, "YX_DOWN: needs 4 value"),
        ({"ARCHITECTURE": "multiresunet", "YX_DOWN": [2, 1, 2, 2]}, {}, "always pools"),
        ({"ARCHITECTURE": "hrnet", "HRNET": {"VARIANT": "custom", "NUM_STAGES": 2}}, {},
         "NUM_MODULES has 3 entries for NUM_STAGES 2"),
        ({"ARCHITECTURE": "hrnet", "HRNET": {"VARIANT": "custom", "NUM_BRANCHES": [2, 3, 2],
          "NUM_BLOCKS": [[4, 4], [4, 4, 4], [4, 4]],
          "NUM_CHANNELS": [[8, 16], [8, 16, 32], [8, 16]]}},
         {}, "fewer branches"),
        ({"ARCHITECTURE": "stunet", "STUNET": {"VARIANT": "custom"}}, {},
         "POOL_OP_KERNEL_SIZES: 2 values per stage in 2D"),
        ({"ARCHITECTURE": "stunet", "STUNET": {"PRETRAINED": True}}, {}, "PRETRAINED"),
    ],
)  # fmt: skip
def test_bad_network_keys_are_one_clear_error(model, data, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config({"MODEL": model, "DATA": data})


def test_older_hrnet_names_and_zero_poolings_read_as_biapy_reads_them():
    config, notes = resolve_config(
        {"MODEL": {"ARCHITECTURE": "hrnet48", "Z_DOWN": [0, 0, 0, 0], "YX_DOWN": [0, 0, 0, 0]}}
    )
    assert config["MODEL"]["ARCHITECTURE"] == "hrnet"
    assert config["MODEL"]["HRNET"]["VARIANT"] == "W48"
    assert config["MODEL"]["Z_DOWN"] == [] and config["MODEL"]["YX_DOWN"] == []
    joined = " ".join(notes)
    assert "read MODEL.ARCHITECTURE hrnet48 as hrnet" in joined
    assert "read MODEL.Z_DOWN [0, 0, 0, 0] as []" in joined


@pytest.mark.parametrize("ndim", [2, 3])
def test_hrnet_with_bottleneck_stages_runs(ndim):
    """BiaPy 3.7.1 builds this one with mismatched channels and fails at its first forward."""
    network = build_model(
        ModelSpec(
            ndim=ndim, in_channels=1, out_channels=2, architecture="hrnet", norm="bn",
            hrnet_variant="custom", hrnet_modules=(1, 1), hrnet_branches=(2, 3),
            hrnet_blocks=((1, 1), (1, 1, 1)), hrnet_channels=((4, 8), (4, 8, 16)),
            hrnet_block_type="BOTTLENECK", hrnet_z_down=(1, 2), hrnet_yx_down=(2, 2),
        )
    ).eval()  # fmt: skip
    size = (1, 1, 40, 44) if ndim == 2 else (1, 1, 6, 40, 44)
    with torch.no_grad():
        assert network(torch.zeros(size)).shape == (1, 2, *size[2:])


@pytest.mark.parametrize(
    ("head", "ndim"), [("ASPP", 2), ("PSP", 2), ("OCR", 2), ("PSP", 3), ("OCR", 3)]
)  # ASPP in 3D is the same module with 3D convs; OCR's 3D is segpipe's own
def test_hrnet_context_heads_train_and_predict_the_channels(head, ndim, tmp_path, mask2d, mask3d):
    """Instance norm too: PSP's 1x1 pooled context holds one value per channel, which
    instance norm cannot normalise (BiaPy's raises there)."""
    torch.set_num_threads(1)
    labels = mask2d[:64, :64] if ndim == 2 else mask3d[:16, :32, :32]
    settings = settings_from_config(_config("hrnet", ndim, 1, norm="in", head=head))
    train_in_folder(
        [_sample(labels)], None, settings.loop, folder=tmp_path / "model", inputs_digest="a",
        normalization=settings.normalization, seed=0, log_csv=tmp_path / "log.csv",
        chart_png=tmp_path / "loss.png", progress=False,
    )  # fmt: skip
    model, meta = load_model(tmp_path / "model" / "model.pt")
    assert meta["spec"]["hrnet_head"] == head
    patch = _patch("hrnet", ndim)
    image = _sample(labels).image[0][tuple(slice(0, p) for p in patch)][..., np.newaxis]
    grid = patch_grid(image.shape[:-1], patch, [p // 8 for p in patch], [0] * ndim)
    cores = predict_cores(model, meta, image, grid, range(len(grid)), tta=True)
    assert cores.shape[:2] == (len(grid), 2) and np.isfinite(cores).all()
    assert 0 <= cores.min() < cores.max() <= 1


@pytest.mark.parametrize("architecture", ["unet", "resunet_se"])
def test_pre_activation_blocks_normalise_each_conv_input_and_train(architecture, tmp_path, mask2d):
    network = build_model(
        ModelSpec(ndim=2, in_channels=1, out_channels=2, architecture=architecture,
                  feature_maps=(4, 8, 16), norm="bn", conv_block_order="norm_act_conv")
    )  # fmt: skip
    first = next(m for m in network.modules() if not list(m.children()))
    assert isinstance(first, torch.nn.BatchNorm2d) and first.num_features == 1  # the input's
    config = _config(architecture, 2, 1)
    config["MODEL"]["CONV_BLOCK_ORDER"] = "norm_act_conv"
    settings = settings_from_config(config)
    train_in_folder(
        [_sample(mask2d[:64, :64])], None, settings.loop, folder=tmp_path / "model",
        inputs_digest="a", normalization=settings.normalization, seed=0,
        log_csv=tmp_path / "log.csv", chart_png=tmp_path / "loss.png", progress=False,
    )  # fmt: skip
    model, meta = load_model(tmp_path / "model" / "model.pt")
    assert meta["spec"]["conv_block_order"] == "norm_act_conv"
    with torch.no_grad():
        assert torch.isfinite(model(torch.randn(1, 1, 32, 32))).all()
