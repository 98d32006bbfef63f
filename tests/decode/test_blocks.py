import numpy as np
import pytest
import zarr
from scipy import ndimage as ndi

from stages.channels import encode_channels
from stages.decode.blocks import BlockPart, decode_by_blocks, merge_block_parts
from stages.decode.watershed import watershed_from_channels

CODES = ["F", "C"]
#: fixed thresholds and no size-relative fragment merging: a decoder that looks only nearby
OPTIONS = {"seed_thresholds": (0.5, 0.5), "growth_thresholds": (0.5,), "fragment_fraction": 0.0}


def _decode(channels: np.ndarray) -> np.ndarray:
    return watershed_from_channels(channels, CODES, **OPTIONS).labels


@pytest.fixture(scope="module")
def volume(mask3d):
    """Eight mirrored copies of the real 3D nuclei: 62x122x114, 408 nuclei, many of them
    across the faces and corners of any block grid."""
    out = np.zeros((62, 122, 114), np.int64)
    for k, (z, y, x) in enumerate(np.ndindex(2, 2, 2)):
        tile = mask3d[:: (-1) ** z, :: (-1) ** y, :: (-1) ** x].astype(np.int64)
        out[z * 31 : (z + 1) * 31, y * 61 : (y + 1) * 61, x * 57 : (x + 1) * 57] = np.where(
            tile > 0, tile + 1000 * k, 0
        )
    return out, encode_channels(out, CODES)


def _same_up_to_renumbering(a: np.ndarray, b: np.ndarray) -> bool:
    if not np.array_equal(a > 0, b > 0):
        return False
    pairs = np.unique(np.stack([a[a > 0], b[a > 0]], axis=1), axis=0)
    return len(pairs) == len(np.unique(a[a > 0])) == len(np.unique(b[b > 0]))


@pytest.mark.parametrize("block", [(16, 32, 32), (31, 61, 57), (10, 45, 30), (62, 122, 114)])
def test_block_decoding_equals_whole_volume_decoding_for_objects_within_the_halo(volume, block):
    _, channels = volume
    whole = _decode(channels)
    extent = np.max([[s.stop - s.start for s in b] for b in ndi.find_objects(whole) if b], axis=0)
    halo = tuple(int(2 * e + 2) for e in extent)  # the stated bound: 2 e + r
    decoded = decode_by_blocks(channels, block, halo, _decode)
    assert decoded.objects == len(np.unique(whole)) - 1 == 408 and decoded.cut == 0
    assert _same_up_to_renumbering(whole, decoded.labels)
    assert sorted(np.unique(decoded.labels))[1:] == list(range(1, 409))  # one id each


def test_channels_read_lazily_from_zarr_decode_the_same(volume, tmp_path):
    _, channels = volume
    stored = zarr.create_array(str(tmp_path / "c.zarr"), shape=channels.shape,
                               dtype=np.float32, chunks=(2, 16, 32, 32))  # fmt: skip
    stored[...] = channels
    lazy = decode_by_blocks(stored, (16, 64, 64), (24, 46, 48), _decode)
    eager = decode_by_blocks(channels, (16, 64, 64), (24, 46, 48), _decode)
    assert np.array_equal(lazy.labels, eager.labels)


def test_labels_written_block_by_block_into_zarr_equal_those_in_memory(volume, tmp_path):
    """A small halo on purpose: objects cut at halos overlap their neighbours' regions, and the
    labels on disk must still equal those in memory voxel for voxel."""
    _, channels = volume
    for halo in ((24, 46, 48), (2, 3, 3)):
        out = zarr.create_array(str(tmp_path / f"l{halo[0]}.zarr"), shape=channels.shape[1:],
                                dtype=np.uint32, chunks=(8, 16, 16), fill_value=0)  # fmt: skip
        on_disk = decode_by_blocks(channels, (16, 64, 64), halo, _decode, out=out)
        in_memory = decode_by_blocks(channels, (16, 64, 64), halo, _decode)
        assert on_disk.objects == in_memory.objects and on_disk.cut == in_memory.cut
        np.testing.assert_array_equal(out[...], in_memory.labels)
    with pytest.raises(ValueError, match="cannot hold channels"):
        decode_by_blocks(channels, (16, 64, 64), halo, _decode, out=np.zeros((2, 2, 2), np.uint32))


@pytest.mark.parametrize("per_job", [1, 5, 7])
def test_parts_decoded_by_separate_jobs_merge_into_the_labels_of_one_job(volume, tmp_path, per_job):
    """Issue 17 item 6: jobs decoding consecutive runs of blocks into their own Zarr parts,
    merged in block order, give the labels of decoding every block in one pass voxel for
    voxel (ids included), with halos both above and below the objects' size (cut objects
    overlap their neighbours' and the later block's win, as in one pass)."""
    _, channels = volume
    block = (16, 48, 40)
    count = 4 * 3 * 3
    for halo in ((24, 46, 48), (2, 3, 3)):
        one_pass = decode_by_blocks(channels, block, halo, _decode)
        parts = []
        for job, first in enumerate(range(0, count, per_job)):
            store = zarr.create_array(str(tmp_path / f"p{per_job}-{halo[0]}-{job}.zarr"),
                                      shape=channels.shape[1:], dtype=np.uint32,
                                      chunks=(16, 48, 40), fill_value=0)  # fmt: skip
            found = decode_by_blocks(
                channels, block, halo, _decode, out=store,
                blocks=range(first, min(first + per_job, count)),
            )  # fmt: skip
            parts.append(BlockPart(store, found.objects, found.box))
        assert sum(p.objects for p in parts) == one_pass.objects
        assert sum(p.box is None for p in parts) < len(parts)
        merged = np.zeros(channels.shape[1:], np.uint32)
        assert merge_block_parts(parts, merged, block) == one_pass.objects
        np.testing.assert_array_equal(merged, one_pass.labels)


def test_a_halo_smaller_than_the_objects_says_how_many_came_out_cut(volume):
    _, channels = volume
    decoded = decode_by_blocks(channels, (16, 32, 32), (1, 2, 2), _decode)
    assert decoded.cut > 0
    # still one id per object kept, never two blocks writing the same voxel twice
    ids = np.unique(decoded.labels)[1:]
    assert len(ids) == decoded.objects


def test_block_and_halo_must_fit_the_volume(volume):
    _, channels = volume
    with pytest.raises(ValueError, match="one value per axis"):
        decode_by_blocks(channels, (16, 32), (4, 4), _decode)


@pytest.mark.parametrize("codes", [["F", "R"], ["E"]])
def test_stardist_and_embedseg_decode_by_blocks_as_whole(mask2d, codes):
    """The two other decoders on the real 2D nuclei, 128x128 blocks: the same instances."""
    from stages.channels import channel_planes
    from stages.decode import decode_channels

    labels = mask2d.astype(np.int64)
    channels = encode_channels(labels, codes)
    planes = channel_planes(codes, {}, 2)

    def decode(region: np.ndarray) -> np.ndarray:
        return decode_channels(region, planes).labels

    whole = decode(channels)
    extent = np.max([[s.stop - s.start for s in b] for b in ndi.find_objects(labels) if b], axis=0)
    decoded = decode_by_blocks(channels, (128, 128), tuple(int(2 * e + 2) for e in extent), decode)
    assert decoded.cut == 0 and decoded.objects == len(np.unique(whole)) - 1 > 100
    assert _same_up_to_renumbering(whole, decoded.labels)


@pytest.mark.parametrize("codes", [["F", "C"], ["B", "D"], ["F", "Db"], ["B", "Dc"]])
def test_auto_thresholds_read_block_by_block_equal_those_of_the_whole_channels(
    mask3d, tmp_path, codes
):
    """'auto' thresholds (Otsu, Otsu of the positive part, the maximum) from channels read
    block by block, never whole, equal those taken on the whole channels."""
    from stages.decode import DECODERS
    from stages.decode.blocks import block_boxes
    from stages.decode.watershed import fixed_thresholds

    rng = np.random.default_rng(0)
    channels = encode_channels(mask3d.astype(np.int64), codes).astype(np.float32)
    channels += rng.normal(0, 0.1, channels.shape).astype(np.float32)
    stored = zarr.create_array(str(tmp_path / "c.zarr"), shape=channels.shape,
                               dtype=np.float32, chunks=(1, 8, 16, 16))  # fmt: skip
    stored[...] = channels
    settings = DECODERS["watershed"].settings()
    whole = fixed_thresholds(channels, codes, settings)
    by_blocks = fixed_thresholds(stored, codes, settings, block_boxes(mask3d.shape, (8, 20, 24)))
    assert whole.seed_thresholds == pytest.approx(by_blocks.seed_thresholds, abs=1e-9)
    assert whole.growth_thresholds == pytest.approx(by_blocks.growth_thresholds, abs=1e-9)
    assert len(whole.seed_thresholds) >= 1
