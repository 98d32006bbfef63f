from stages.nn.checkpoints import files_digest, settings_digest


def test_files_digest_follows_contents_and_roles(tmp_path):
    a, b = tmp_path / "a.tif", tmp_path / "b.tif"
    a.write_bytes(b"1")
    b.write_bytes(b"2")
    digest = files_digest([("raw", a), ("labels", b)])
    assert digest == files_digest([("raw", a), ("labels", b)])
    assert digest != files_digest([("raw", b), ("labels", a)])
    assert digest != files_digest([("labels", a), ("raw", b)])
    b.write_bytes(b"3")
    assert digest != files_digest([("raw", a), ("labels", b)])


def test_settings_digest_ignores_key_order():
    assert settings_digest({"a": 1, "b": [1, 2]}) == settings_digest({"b": [1, 2], "a": 1})
    assert settings_digest({"a": 1}) != settings_digest({"a": 2})


def test_a_folder_image_counts_by_the_names_sizes_and_times_of_its_files(tmp_path):
    """A Zarr image is a folder: its files' names, sizes and modification times decide
    (hashing every byte of a volume larger than memory would read it all first)."""
    import os

    zarr = tmp_path / "a.zarr"
    (zarr / "0").mkdir(parents=True)
    (zarr / "0" / "c0").write_bytes(b"12")
    digest = files_digest([("raw", zarr)])
    assert digest == files_digest([("raw", zarr)])
    (zarr / "0" / "c1").write_bytes(b"3")
    grown = files_digest([("raw", zarr)])
    assert grown != digest
    os.utime(zarr / "0" / "c1", ns=(1, 1))
    assert files_digest([("raw", zarr)]) != grown
