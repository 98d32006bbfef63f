"""segpipe import-biapy: a BiaPy checkpoint becomes a segpipe model that predicts as it did.

BiaPy is not installed in CI: the checkpoints here hold a segpipe network's tensors in call
order under names of their own, beside a BiaPy config, as BiaPy 3.7.1 saves them. That
BiaPy's own networks pair and predict equally is checked by
benchmarks/check_biapy_import.py (RESULTS.md).
"""

import pytest
import torch
import yaml

from stages.nn.model import build_model, load_model
from stages.nn.settings import ModelSpec

from ..helpers import save_as_biapy_checkpoint

#: a BiaPy config for a small 2D residual U-Net (the keys a user's file would set)
BIAPY_CONFIG = {
    "SYSTEM": {"SEED": 3},
    "PROBLEM": {"TYPE": "INSTANCE_SEG", "NDIM": "2D",
                "INSTANCE_SEG": {"DATA_CHANNELS": "BC"}},
    "DATA": {"PATCH_SIZE": "(32, 32, 1)", "NORMALIZATION": {"TYPE": "zero_mean_unit_variance"}},
    "MODEL": {"ARCHITECTURE": "resunet", "FEATURE_MAPS": [4, 8, 16], "LARGER_IO": True,
              "DROPOUT_VALUES": [0.0, 0.0, 0.0], "Z_DOWN": [0, 0]},
}  # fmt: skip

SPEC = ModelSpec(
    ndim=2, in_channels=1, out_channels=2, architecture="resunet", feature_maps=(4, 8, 16),
    larger_io=True, patch=(32, 32),
)  # fmt: skip


def biapy_checkpoint(path, config=BIAPY_CONFIG, spec=SPEC) -> torch.nn.Module:
    """A checkpoint as BiaPy 3.7.1 saves one, of a network with random weights."""
    torch.manual_seed(1)
    network = build_model(spec).eval()
    for tensor in network.state_dict().values():
        if tensor.dtype.is_floating_point:
            tensor.copy_(torch.rand(tensor.shape))
    save_as_biapy_checkpoint(network, torch.rand(1, 1, *spec.patch), config, path)
    return network


def test_a_biapy_checkpoint_becomes_a_model_that_predicts_as_biapys(run, tmp_path):
    source = biapy_checkpoint(tmp_path / "cartocell-checkpoint-best.pth")
    result = run("import-biapy", tmp_path / "cartocell-checkpoint-best.pth", tmp_path / "m.pt")
    assert result.exit_code == 0, result.output
    assert "BiaPy 3.7.1 resunet (F, C), epoch 17" in result.output
    model, card = load_model(tmp_path / "m.pt")
    x = torch.rand(1, 1, 48, 48)
    with torch.no_grad():
        assert torch.equal(model(x), source(x))
    # BiaPy's old channel string, its normalisation and seed, read as segpipe reads the config
    assert card["codes"] == ["F", "C"] and card["channels"] == ["F", "C"]
    assert card["normalization"]["type"] == "zero_mean_unit_variance"
    assert card["spec"]["layout"] == 3 and card["spec"]["larger_io"] is True
    assert card["imported_from"]["biapy_version"] == "3.7.1" and card["seed"] == 3


def test_the_config_can_come_from_the_users_yaml(run, tmp_path):
    source = biapy_checkpoint(tmp_path / "old.pth", config=None)
    (tmp_path / "biapy.yaml").write_text(yaml.safe_dump(BIAPY_CONFIG))
    result = run("import-biapy", tmp_path / "old.pth", tmp_path / "m.pt")
    assert result.exit_code == 1 and "holds no config: give the YAML" in result.output
    assert not (tmp_path / "m.pt").exists()
    result = run("import-biapy", tmp_path / "old.pth", tmp_path / "m.pt",
                 "--config", tmp_path / "biapy.yaml")  # fmt: skip
    assert result.exit_code == 0, result.output
    model, _ = load_model(tmp_path / "m.pt")
    x = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), source(x))


def test_an_imported_model_fine_tunes_in_its_own_layout(run, tmp_path):
    from stages.nn.run import initial_weights_for
    from stages.nn.settings import TrainSettings

    biapy_checkpoint(tmp_path / "b.pth")
    assert run("import-biapy", tmp_path / "b.pth", tmp_path / "m.pt").exit_code == 0
    settings = TrainSettings(codes=("F", "C"), channel_options={}, model=SPEC, patch=(32, 32))
    weights, layout = initial_weights_for(tmp_path / "m.pt", settings)
    assert layout == 3 and set(weights) == set(build_model(SPEC).state_dict())
    # a model segpipe trained before 2026-12-04 (layout 2) fine-tunes in layout 2
    model, card = load_model(tmp_path / "m.pt")
    card["spec"]["layout"] = 2
    torch.save({"model": model.state_dict(), "meta": __import__("json").dumps(card)},
               tmp_path / "old.pt")  # fmt: skip
    assert initial_weights_for(tmp_path / "old.pt", settings)[1] == 2


@pytest.mark.parametrize(
    "change, message",
    [
        ({"MODEL": {**BIAPY_CONFIG["MODEL"], "FEATURE_MAPS": [8, 16, 32]}},
         "its weights do not fit the network its config describes (layer0000.weight"),
        ({"MODEL": {**BIAPY_CONFIG["MODEL"], "ARCHITECTURE": "multiresunet"}},
         "BiaPy's multiresunet weights cannot be imported yet (its layers pair with segpipe's "
         "only for unet, resunet, attention_unet, seunet, resunet_se, resunet++, unext_v1, "
         "unext_v2, hrnet)"),
        ({"MODEL": {**BIAPY_CONFIG["MODEL"], "ARCHITECTURE": "hrnet",
                    "HRNET": {"HEAD_TYPE": "ASPP"}}},
         "BiaPy's HRNet with the ASPP head returns its 256 context channels"),
    ],
)  # fmt: skip
def test_weights_that_do_not_fit_are_refused_with_no_output(run, tmp_path, change, message):
    biapy_checkpoint(tmp_path / "b.pth", config={**BIAPY_CONFIG, **change})
    result = run("import-biapy", tmp_path / "b.pth", tmp_path / "m.pt")
    assert result.exit_code == 1
    assert message in result.output and str(tmp_path / "b.pth") in result.output
    assert not (tmp_path / "m.pt").exists()


def test_files_that_are_not_biapy_checkpoints_are_refused(run, tmp_path, trained):
    result = run("import-biapy", trained, tmp_path / "m.pt")
    assert result.exit_code == 1
    assert f"{trained} is not a BiaPy checkpoint" in result.output
    result = run("import-biapy", tmp_path / "missing.pth", tmp_path / "m.pt")
    assert result.exit_code == 1 and "missing.pth does not exist" in result.output
    (tmp_path / "text.pth").write_text("not a checkpoint")
    result = run("import-biapy", tmp_path / "text.pth", tmp_path / "m.pt")
    assert result.exit_code == 1 and "text.pth is not a BiaPy checkpoint" in result.output
    assert not (tmp_path / "m.pt").exists()


def test_the_workflow_tells_a_biapy_checkpoint_without_torch(run, tmp_path, trained):
    from stages.commands.import_biapy import looks_like_biapy_checkpoint

    biapy_checkpoint(tmp_path / "b.pth")
    assert looks_like_biapy_checkpoint(tmp_path / "b.pth")
    # a model imported from one names BiaPy's version in its card: still segpipe's
    assert run("import-biapy", tmp_path / "b.pth", tmp_path / "m.pt").exit_code == 0
    assert not looks_like_biapy_checkpoint(tmp_path / "m.pt")
    assert not looks_like_biapy_checkpoint(trained)
    assert not looks_like_biapy_checkpoint(tmp_path / "missing.pth")
    assert not looks_like_biapy_checkpoint(tmp_path)  # a package folder
    assert not looks_like_biapy_checkpoint("")


def test_the_config_biapys_check_completed_is_the_one_a_real_checkpoint_holds(run, tmp_path):
    """BiaPy 3.7.1 stores the config its configuration check completed (benchmarks/
    check_biapy_config.py runs that check): every channel's loss, every encoder option,
    'auto' watershed thresholds, the 3D-ready lists. Read back as segpipe's own."""
    checked = yaml.safe_load(yaml.safe_dump(BIAPY_CONFIG))
    checked["PROBLEM"]["INSTANCE_SEG"] = {
        "DATA_CHANNELS": ["F", "C"], "DATA_CHANNELS_LOSSES": ["bce", "bce"],
        "DATA_CHANNEL_WEIGHTS": [1, 1], "INSTANCE_CREATION_PROCESS": "watershed",
        "DATA_CHANNELS_EXTRA_OPTS": [{"C": {"mode": "thick"}, "F": {"dilation": 0, "erosion": 0}}],
        "WATERSHED": {"SEED_CHANNELS": ["F", "C"], "SEED_CHANNELS_THRESH": ["auto", "auto"],
                      "GROWTH_MASK_CHANNELS": ["F"], "GROWTH_MASK_CHANNELS_THRESH": ["auto"],
                      "TOPOGRAPHIC_SURFACE_CHANNEL": "F"},
    }  # fmt: skip
    checked["MODEL"]["Z_DOWN"] = [2, 2]
    source = biapy_checkpoint(tmp_path / "checked.pth", config=checked)
    result = run("import-biapy", tmp_path / "checked.pth", tmp_path / "m.pt")
    assert result.exit_code == 0, result.output
    model, card = load_model(tmp_path / "m.pt")
    x = torch.rand(1, 1, 48, 48)
    with torch.no_grad():
        assert torch.equal(model(x), source(x))
    assert card["codes"] == ["F", "C"]
    # a loss BiaPy would not have chosen itself is still refused, naming the key
    checked["PROBLEM"]["INSTANCE_SEG"]["DATA_CHANNELS_LOSSES"] = ["bce", "mse"]
    biapy_checkpoint(tmp_path / "other.pth", config=checked)
    result = run("import-biapy", tmp_path / "other.pth", tmp_path / "other.pt")
    assert result.exit_code != 0 and "DATA_CHANNELS_LOSSES" in result.output
    assert not (tmp_path / "other.pt").exists()
