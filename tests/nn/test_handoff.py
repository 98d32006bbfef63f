import zipfile

import numpy as np
import pytest

from stages.nn.handoff import ShardWriter, iter_rows, read_header


def test_rows_written_in_slabs_are_read_back_in_slabs(tmp_path, monkeypatch):
    import stages.nn.handoff as handoff

    monkeypatch.setattr(handoff, "READ_ROWS", 7)
    values = np.random.default_rng(0).random((2, 30, 5, 4)).astype(np.float32)  # (C, rows, ...)
    path = tmp_path / "shard.npz"
    writer = ShardWriter(path, {"image": "a.tif", "shard": [2, 3]}, 12, (30, 2, 5, 4))
    for first in range(0, 30, 9):
        writer.write(values[:, first : first + 9])
    writer.close()
    header, first_row, shape = read_header(path)
    assert header == {"image": "a.tif", "shard": [2, 3]} and first_row == 12
    assert shape == (30, 2, 5, 4)
    slabs = list(iter_rows(path))
    assert [row for row, _ in slabs] == [12, 19, 26, 33, 40]
    np.testing.assert_array_equal(np.concatenate([v for _, v in slabs], axis=1), values)
    with np.load(path) as data:  # an ordinary .npz to numpy
        np.testing.assert_array_equal(data["channels"], np.moveaxis(values, 1, 0))


def test_a_short_shard_is_an_error_on_both_sides(tmp_path):
    path = tmp_path / "shard.npz"
    writer = ShardWriter(path, {}, 0, (4, 1, 3))
    writer.write(np.zeros((1, 2, 3), np.float32))
    with pytest.raises(RuntimeError, match="wrote 2 of the 4 rows"):
        writer.close()
    with pytest.raises((ValueError, zipfile.BadZipFile, EOFError)):
        list(iter_rows(path))
