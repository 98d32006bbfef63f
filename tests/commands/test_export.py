"""segpipe export: a BioImage Model Zoo package that the zoo's own checker runs and that segpipe
predicts with as with the model it came from (issue 14, item 5)."""

import json
import zipfile

import numpy as np
import pytest
import torch
import yaml

from .conftest import no_partial_files


def zoo_test(package) -> str:
    """The status bioimageio.core's test_model gives the package (both weight formats run on
    the test input, after the package's preprocessing, and must give the test output)."""
    core = pytest.importorskip("bioimageio.core", reason="bioimageio.core does not install here")
    summary = core.test_model(str(package))
    return summary.status, summary.format()


def cores_of(run, image, model, out, config):
    result = run("predict", image, out, "--model", model, "--config", config)
    assert result.exit_code == 0, result.output
    with np.load(out) as data:
        return data["channels"]


def test_a_package_passes_the_zoos_test_and_predicts_as_its_model(
    run, dataset, tiny_config, trained, tmp_path
):
    image = dataset / "test/raw/img-0.tif"
    package = tmp_path / "export" / "nuclei.zip"
    result = run("export", trained, package, "--image", image, "--config", tiny_config)
    assert result.exit_code == 0, result.output
    status, report = zoo_test(package)
    assert status == "passed", report
    with zipfile.ZipFile(package) as archive:
        description = yaml.safe_load(archive.read("rdf.yaml"))
    assert description["format_version"].startswith("0.5")
    segpipe = description["config"]["segpipe"]
    assert segpipe["card"]["codes"] == ["F", "C"]
    assert segpipe["decoder"]["PROBLEM"]["INSTANCE_SEG"]["DATA_CHANNELS"] == ["F", "C"]
    assert description["outputs"][0]["axes"][1]["channel_names"] == ["F", "C"]
    assert description["outputs"][0]["axes"][2]["halo"] == 4  # DATA.TEST.PADDING
    np.testing.assert_array_equal(
        cores_of(run, image, package, tmp_path / "a.npz", tiny_config),
        cores_of(run, image, trained, tmp_path / "b.npz", tiny_config),
    )
    # the package's folder form loads as well, and fine-tunes (train --init-model)
    folder = tmp_path / "export" / "nuclei"
    assert run("export", package, folder, "--image", image).exit_code == 0
    assert (folder / "rdf.yaml").is_file() and (folder / "weights_torchscript.pt").is_file()
    result = run("train", "--raw", dataset / "train/raw", "--label", dataset / "train/label",
                 "--channels", tmp_path / "ch", "--out", tmp_path / "tuned", "--threads", "1",
                 "--no-progress", "--init-model", folder, "--config", tiny_config)  # fmt: skip
    assert result.exit_code == 0, result.output


def test_percentile_clipping_and_division_export_as_the_zoos_steps(run, dataset, trained, tmp_path):
    """Each normalisation of segpipe is a preprocessing the zoo's checker reproduces."""
    checkpoint = torch.load(trained, weights_only=True)
    meta = json.loads(checkpoint["meta"])
    meta["normalization"] = {
        **meta["normalization"], "type": "div", "perc_clip": True, "lower_perc": 1.0,
        "upper_perc": 99.0,
    }  # fmt: skip
    checkpoint["meta"] = json.dumps(meta)
    torch.save(checkpoint, tmp_path / "div.pt")
    package = tmp_path / "div"
    result = run("export", tmp_path / "div.pt", package, "--image", dataset / "test/raw/img-0.tif")
    assert result.exit_code == 0, result.output
    steps = [step["id"] for step in yaml.safe_load((package / "rdf.yaml").read_text())[
        "inputs"][0]["preprocessing"]]  # fmt: skip
    assert steps == ["ensure_dtype", "clip", "scale_linear"]
    status, report = zoo_test(package)
    assert status == "passed", report


def test_export_and_package_errors(run, dataset, tiny_config, trained, tmp_path):
    colour = tmp_path / "colour.tif"
    import tifffile

    tifffile.imwrite(colour, np.zeros((40, 40, 3), np.uint8), photometric="rgb")
    result = run("export", trained, tmp_path / "p.zip", "--image", colour)
    assert result.exit_code == 1 and "3 channel(s)" in result.output
    assert not (tmp_path / "p.zip").exists() and no_partial_files(tmp_path)
    # a zoo package segpipe did not write: no channel codes to decode with
    foreign = tmp_path / "foreign.zip"
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("rdf.yaml", yaml.safe_dump({"type": "model", "config": {}}))
    result = run("predict", dataset / "test/raw/img-0.tif", tmp_path / "x.npz", "--model", foreign)
    assert result.exit_code == 1 and "was not exported by segpipe" in result.output
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"not a zip")
    result = run("predict", dataset / "test/raw/img-0.tif", tmp_path / "x.npz", "--model", broken)
    assert result.exit_code == 1 and "not a readable BioImage Model Zoo package" in result.output


@pytest.mark.parametrize(
    "model, message",
    [
        ({"SOURCE": "bmz"}, "needs the path of a BioImage Model Zoo package"),
        ({"SOURCE": "bmz", "BMZ": {"SOURCE_MODEL_ID": "affable-shark"}}, "downloads nothing"),
        ({"SOURCE": "bmz", "BMZ": {"SOURCE_MODEL_ID": "10.5281/zenodo.5764892"}}, "not a path"),
        ({"SOURCE": "bmz", "BMZ": {"SOURCE_MODEL_ID": "m.zip"}, "LOAD_CHECKPOINT": True},
         "two models"),
        ({"SOURCE": "torchvision"}, "MODEL.SOURCE"),
    ],
)  # fmt: skip
def test_bad_model_sources_are_one_clear_error(model, message):
    from stages.config import ConfigError, resolve_config

    with pytest.raises(ConfigError, match=message):
        resolve_config({"MODEL": model})
