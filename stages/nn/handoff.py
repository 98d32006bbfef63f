"""The file `segpipe predict` hands to `segpipe reconstruct`: one shard's blended rows.

An uncompressed .npz (a zip numpy reads) holding ``header`` (JSON: the image, the grid,
the shard), ``first_row`` and ``channels``, the shard's final values as (rows, C, *rest)
float32. Rows come first so that both sides stream them: the writer appends slabs as they
are blended and the reader adds them slab by slab, neither holding the whole array.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

#: rows read at a time by the reader
READ_ROWS = 64


class ShardWriter:
    """Write a shard's rows in order: ``write(values)`` with (C, rows, *rest) float32 slabs."""

    def __init__(self, path: str | Path, header: dict, first_row: int, shape: tuple[int, ...]):
        self.shape = tuple(int(s) for s in shape)  # (rows, C, *rest)
        self.archive = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED)
        self._small("header", np.asarray(json.dumps(header)))
        self._small("first_row", np.asarray(first_row, dtype=np.int64))
        self.member = self.archive.open("channels.npy", "w", force_zip64=True)
        np.lib.format.write_array_header_2_0(
            self.member, {"descr": "<f4", "fortran_order": False, "shape": self.shape}
        )
        self.rows = 0

    def _small(self, name: str, array: np.ndarray) -> None:
        with self.archive.open(f"{name}.npy", "w") as member:
            np.lib.format.write_array(member, array)

    def write(self, values: np.ndarray) -> None:
        rows = np.ascontiguousarray(np.moveaxis(values, 1, 0), dtype="<f4")
        self.member.write(rows.tobytes())
        self.rows += rows.shape[0]

    def close(self) -> None:
        self.member.close()
        self.archive.close()
        if self.rows != self.shape[0]:
            raise RuntimeError(f"wrote {self.rows} of the {self.shape[0]} rows of a shard")


def read_header(path: str | Path) -> tuple[dict, int, tuple[int, ...]]:
    """The header, first row and (rows, C, *rest) shape of a shard file (no values read)."""
    with zipfile.ZipFile(path) as archive:
        header, first_row = _small_members(archive)
        with archive.open("channels.npy") as member:
            shape = _array_header(member)
    return header, first_row, shape


def _small_members(archive: zipfile.ZipFile) -> tuple[dict, int]:
    with archive.open("header.npy") as member:
        header = json.loads(str(np.lib.format.read_array(member)))
    with archive.open("first_row.npy") as member:
        first_row = int(np.lib.format.read_array(member))
    return header, first_row


def _array_header(member) -> tuple[int, ...]:
    version = np.lib.format.read_magic(member)
    shape, fortran, dtype = (
        np.lib.format.read_array_header_1_0(member)
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0(member)
    )
    if fortran or dtype != np.dtype("<f4"):
        raise ValueError(f"channels stored as {dtype}, Fortran order {fortran}")
    return tuple(shape)


def iter_rows(path: str | Path) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, (C, rows, *rest) float32) slabs of a shard file, READ_ROWS rows at a time."""
    with zipfile.ZipFile(path) as archive:
        _, first_row = _small_members(archive)
        with archive.open("channels.npy") as member:
            shape = _array_header(member)
            row_bytes = 4 * int(np.prod(shape[1:]))
            done = 0
            while done < shape[0]:
                rows = min(READ_ROWS, shape[0] - done)
                data = member.read(rows * row_bytes)
                if len(data) != rows * row_bytes:
                    raise ValueError(f"the channels end after {done} of {shape[0]} rows")
                values = np.frombuffer(data, dtype="<f4").reshape((rows,) + shape[1:])
                yield first_row + done, np.moveaxis(values, 0, 1)
                done += rows
