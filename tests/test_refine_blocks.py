import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.segmentation import relabel_sequential

from stages.refine import refine_instances
from stages.refine_blocks import border_ids, label_sizes_by_blocks, refine_by_blocks


@pytest.fixture(scope="module")
def volume(mask3d) -> np.ndarray:
    """Four mirrored copies of the real 3D nuclei (31x122x114, 204 nuclei, ids apart by 1000),
    some holed."""
    out = np.zeros((31, 122, 114), np.uint32)
    for k, (y, x) in enumerate(np.ndindex(2, 2)):
        tile = mask3d[:, :: (-1) ** y, :: (-1) ** x].astype(np.uint32)
        out[:, y * 61 : (y + 1) * 61, x * 57 : (x + 1) * 57] = np.where(
            tile > 0, tile + 1000 * k, 0
        )
    # holes inside a few nuclei, for fill_holes to fill
    for index, box in enumerate(ndi.find_objects(out)):
        if box is not None and index % 3 == 0:
            centre = tuple((s.start + s.stop) // 2 for s in box)
            if out[centre] == index + 1:
                out[centre] = 0
    return out


def _whole(labels, operations, values):
    return relabel_sequential(refine_instances(labels, operations, values))[0]


@pytest.mark.parametrize(
    "operations, values",
    [
        (["erosion", "dilation"], [1, 2]),
        (["fill_holes", "remove_small_objects", "clear_border"], ["none", 200, "none"]),
        (["dilation", "remove_large_objects", "fill_holes", "erosion"], [1, 1500, "none", 1]),
    ],
)
@pytest.mark.parametrize("block", [(8, 32, 32), (31, 61, 57), (16, 50, 40)])
def test_refining_by_blocks_gives_the_labels_of_refining_whole(volume, operations, values, block):
    extent = np.max([[s.stop - s.start for s in b] for b in ndi.find_objects(volume) if b], 0)
    halo = tuple(int(e) for e in extent)
    whole = _whole(volume, operations, values)
    out = np.zeros_like(volume)
    count = refine_by_blocks(
        volume, operations, values, block, halo,
        lambda step: np.zeros_like(volume), out,
    )  # fmt: skip
    assert count == whole.max() > 40
    np.testing.assert_array_equal(out, whole)


def test_whole_volume_figures_are_summed_over_blocks(volume):
    sizes = label_sizes_by_blocks(volume, (8, 32, 32))
    np.testing.assert_array_equal(sizes, np.bincount(volume.ravel()))
    # instances of one piece each: the instances skimage's clear_border removes
    from skimage.segmentation import clear_border

    from stages.refine import clear_border_instances

    cleared = clear_border(volume)
    np.testing.assert_array_equal(
        border_ids(volume), np.setdiff1d(np.unique(volume), np.unique(cleared))
    )
    np.testing.assert_array_equal(clear_border_instances(volume), cleared)
    # an instance of two pieces, one on a face, goes whole (skimage keeps the inner piece)
    two = volume.copy()
    face_id = border_ids(volume)[0]
    two[10:12, 60:62, 55:57] = face_id  # a second piece of an instance on a face, inside
    assert face_id > 0 and clear_border(two)[10:12, 60:62, 55:57].all()
    assert not clear_border_instances(two)[10:12, 60:62, 55:57].any()


def test_bad_settings_are_refused(volume):
    scratch = lambda step: np.zeros_like(volume)  # noqa: E731
    out = np.zeros_like(volume)
    with pytest.raises(ValueError, match="one entry per operation"):
        refine_by_blocks(volume, ["erosion"], [], (8, 32, 32), (4, 8, 8), scratch, out)
    with pytest.raises(ValueError, match="unknown refinement operation 'open'"):
        refine_by_blocks(volume, ["open"], [1], (8, 32, 32), (4, 8, 8), scratch, out)
    with pytest.raises(ValueError, match="need 3 values each"):
        refine_by_blocks(volume, ["erosion"], [1], (8, 32), (4, 8, 8), scratch, out)
