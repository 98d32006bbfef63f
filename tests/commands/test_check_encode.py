import json

import numpy as np

from stages.io import read_channels, write_tiff

from .conftest import no_partial_files


def test_check_reports_pairs(run, dataset, tmp_path):
    result = run(
        "check",
        "--raw",
        dataset / "train/raw",
        "--label",
        dataset / "train/label",
        "--raw",
        dataset / "test/raw",
        "--label",
        "none",
        "--ndim",
        "2D",
        "--out",
        tmp_path / "check.json",
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "check.json").read_text())
    assert (
        len(report["images"]) == 3
        and report["images"][0]["instances"] > 0
        and report["images"][0]["shape"] == [64, 64]
    )


def test_check_errors_name_the_file(run, dataset, tmp_path):
    write_tiff(dataset / "train/label/img-1.tif", np.zeros((10, 10), np.uint16))
    result = run(
        "check",
        "--raw",
        dataset / "train/raw",
        "--label",
        dataset / "train/label",
        "--ndim",
        "2D",
        "--out",
        tmp_path / "c.json",
    )
    assert result.exit_code == 1 and "img-1.tif: label shape (10, 10) differs" in result.output
    assert not (tmp_path / "c.json").exists()
    write_tiff(dataset / "train/label/img-1.tif", np.full((64, 64), 0.5, np.float32))
    result = run(
        "check", "--raw", dataset / "train/raw", "--label", dataset / "train/label", "--ndim", "2D"
    )
    assert (
        result.exit_code == 1
        and "img-1.tif: labels must hold integer instance ids" in result.output
    )
    result = run(
        "check", "--raw", dataset / "train/raw", "--label", dataset / "train/label", "--ndim", "3D"
    )
    assert result.exit_code == 1 and "is not 3D" in result.output
    result = run(
        "check", "--raw", dataset / "nope", "--label", dataset / "train/label", "--ndim", "2D"
    )
    assert result.exit_code == 1 and "does not exist" in result.output


def test_encode_writes_channels_with_their_codes(run, dataset, tmp_path):
    out = tmp_path / "enc" / "img-0.tif"
    result = run(
        "encode",
        dataset / "train/label/img-0.tif",
        out,
        "--channels",
        "F,C,Db",
        "--extra-opts",
        '{"C": {"mode": "inner"}}',
    )
    assert result.exit_code == 0, result.output
    channels, codes, _ = read_channels(out)
    assert (
        codes == ["F", "C", "Db"] and channels.shape == (3, 64, 64) and channels.dtype == np.float32
    )
    assert no_partial_files(tmp_path)


def test_encode_on_one_thread_gives_the_same_channels(run, dataset, tmp_path):
    import numba

    label = dataset / "train/label/img-0.tif"
    outputs = []
    before = numba.get_num_threads()
    try:
        for threads in ([], ["--threads", "1"]):
            outputs.append(tmp_path / f"enc{len(threads)}.tif")
            result = run("encode", label, outputs[-1], "--channels", "Db,R", *threads)
            assert result.exit_code == 0, result.output
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(read_channels(outputs[0])[0], read_channels(outputs[1])[0])


def test_encode_bad_arguments(run, dataset, tmp_path):
    label = dataset / "train/label/img-0.tif"
    for args, message in [
        (["--channels", "F,Q"], "unknown channel code(s) ['Q']"),
        (["--channels", "F", "--extra-opts", "{bad"], "not valid JSON"),
        (
            ["--channels", "F", "--extra-opts", '{"C": {}}'],
            "options for 'C', which is not among the channels",
        ),
        (
            ["--channels", "C", "--extra-opts", '{"C": {"mode": "fat"}}'],
            "option 'mode' of channel C must be one of",
        ),
        (["--channels", "F", "--threads", "0"], "Invalid value for '--threads'"),
    ]:
        result = run("encode", label, tmp_path / "x.tif", *args)
        assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "x.tif").exists()
    result = run("encode", dataset / "train/raw/missing.tif", tmp_path / "x.tif", "--channels", "F")
    assert result.exit_code == 1 and "missing.tif does not exist" in result.output


def test_check_refuses_a_patch_far_larger_than_every_image(run, dataset, tmp_path, caplog):
    config = tmp_path / "big.yaml"
    config.write_text("DATA:\n  PATCH_SIZE: (2048, 128, 1)\n")
    args = ["check", "--raw", dataset / "train/raw", "--label", dataset / "train/label"]
    result = run(*args, "--config", config, "--out", tmp_path / "c.json")
    assert result.exit_code == 1
    assert "DATA.PATCH_SIZE (2048, 128) is far larger than the images" in result.output
    assert "(64, 64)" in result.output and "64 times its size" in result.output
    assert not (tmp_path / "c.json").exists()
    # BiaPy's 3D template patch pads the stardist 3D volume 4.7 times: padded, and said
    config.write_text("DATA:\n  PATCH_SIZE: (512, 64, 1)\n")
    with caplog.at_level("WARNING", logger="segpipe.check"):
        assert run(*args, "--config", config).exit_code == 0
    assert [r.getMessage() for r in caplog.records if r.name == "segpipe.check"] == [
        f"{dataset / 'train/raw'}: DATA.PATCH_SIZE (512, 64) pads every image to at least 8.0 "
        "times its size (by reflection): a patch nearer their size holds more of them"
    ]
    # a patch a little larger than the images is padded without a word, as the 3D demo's is
    caplog.clear()
    config.write_text("DATA:\n  PATCH_SIZE: (96, 64, 1)\n")
    assert run(*args, "--config", config).exit_code == 0
    assert not [r for r in caplog.records if r.name == "segpipe.check"]
