"""Training samples read from disk patch by patch: images larger than memory train.

A lazy sample looks like an in-memory :class:`stages.nn.data.Sample` to the patch sampler:
its image, targets, foreground and labels have a ``shape`` and slice over their spatial axes,
but each slice reads only that region. The image is normalised with statistics of the whole
image gathered beforehand (:func:`stages.nn.normalization.image_normalization`), so a patch
equals the same patch of the image normalised in memory. Targets are encoded from the labels
of the patch grown by ``halo`` voxels on every side: the channels measured on each object
alone (all of segpipe's codes but Dn) equal the whole image's encoding for every object whose
extent is at most the halo; Dn, the distance to the nearest other object, needs the halo to
reach that object too (tested at twice the extent on real nuclei).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .normalization import Normalization, apply_normalization

#: validation patches held in memory when the samples are read from disk (a share of a volume
#: larger than memory would not fit)
LAZY_VALIDATION_PATCHES = 256


def _spatial(index) -> tuple[slice, ...]:
    """The spatial slices of a ``(slice(None), *box)`` channel-first index."""
    if not isinstance(index, tuple) or not index or index[0] != slice(None):
        raise IndexError(f"a lazy sample is read by (slice(None), *box), not {index!r}")
    return index[1:]


class NormalizedRegions:
    """A (C, *S) normalised float32 image, read region by region from a channel-last reader."""

    def __init__(self, reader, normalization: Normalization):
        self.reader, self.normalization = reader, normalization
        self.shape = (reader.shape[-1], *reader.shape[:-1])

    def __getitem__(self, index) -> np.ndarray:
        values = np.array(self.reader[_spatial(index)], dtype=np.float32)
        return np.moveaxis(apply_normalization(values, self.normalization), -1, 0)


class RawRegions:
    """A (C, *S) raw image as stored, read region by region from a channel-last reader (what
    a FILTER_SAMPLES condition on raw values tests)."""

    def __init__(self, reader):
        self.reader = reader
        self.shape = (reader.shape[-1], *reader.shape[:-1])

    def __getitem__(self, index) -> np.ndarray:
        return np.moveaxis(np.asarray(self.reader[_spatial(index)]), -1, 0)


class LabelRegions:
    """A (*S) label image read region by region (from a reader with one channel)."""

    def __init__(self, reader):
        self.reader, self.shape = reader, tuple(reader.shape[:-1])

    def __getitem__(self, box) -> np.ndarray:
        return np.asarray(self.reader[tuple(box)])[..., 0]


class ForegroundRegions:
    """Where the labels are non-zero, region by region."""

    def __init__(self, labels: LabelRegions):
        self.labels, self.shape = labels, labels.shape

    def __getitem__(self, box) -> np.ndarray:
        return self.labels[box] > 0


class EncodedRegions:
    """(K, *S) training targets encoded from the labels of each region read, grown by
    ``halo`` (cut at the image border, as the whole image's encoding is)."""

    def __init__(
        self,
        labels: LabelRegions,
        encode: Callable[[np.ndarray], np.ndarray],
        planes: int,
        halo: Sequence[int],
    ):
        self.labels, self.encode, self.halo = labels, encode, tuple(halo)
        self.shape = (planes, *labels.shape)

    def __getitem__(self, index) -> np.ndarray:
        box = _spatial(index)
        grown = tuple(
            slice(max(b.start - h, 0), min(b.stop + h, s))
            for b, h, s in zip(box, self.halo, self.labels.shape)
        )
        encoded = self.encode(self.labels[grown])
        inner = tuple(slice(b.start - g.start, b.stop - g.start) for b, g in zip(box, grown))
        return np.ascontiguousarray(encoded[(slice(None), *inner)], dtype=np.float32)


def is_lazy(array) -> bool:
    """Whether a sample's part is read from disk (not a numpy array)."""
    return not isinstance(array, np.ndarray)
