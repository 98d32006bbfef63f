import numpy as np
import pandas as pd
import pytest
import zarr
from scipy import ndimage as ndi

from stages.labels.classes import instance_classes
from stages.measure import measure_instances
from stages.measure_blocks import block_sums, blockwise_measurements, merge_sums


@pytest.mark.parametrize("block", [(31, 61, 57), (8, 16, 16), (5, 7, 11), (1, 61, 57), (3, 3, 3)])
def test_measurements_by_blocks_equal_the_whole_volume_s(mask3d, block):
    """Volume, centre, box (diameter), Crofton surface area and sphericity, anisotropic."""
    spacing = (2.0, 0.5, 0.5)
    whole = measure_instances(mask3d, spacing=spacing)
    by_blocks = blockwise_measurements(mask3d, block, spacing=spacing)
    pd.testing.assert_frame_equal(
        by_blocks.reset_index(drop=True), whole.reset_index(drop=True), check_dtype=False
    )


def test_a_zarr_volume_with_classes_and_large_ids_is_read_block_by_block(tmp_path, mask3d):
    labels = np.where(mask3d > 0, mask3d.astype(np.int64) * 1_000_003, 0)
    classes = np.where(mask3d > 0, 1 + mask3d % 3, 0).astype(np.uint8)
    classes[mask3d == 8] = np.where(np.arange(classes[mask3d == 8].size) % 4 == 0, 2, 3)
    stored = zarr.create_array(str(tmp_path / "l.zarr"), shape=labels.shape, dtype=np.int64,
                               chunks=(8, 16, 16))  # fmt: skip
    stored[...] = labels
    got = blockwise_measurements(stored, (8, 16, 16), classes=classes, n_classes=4)
    whole = measure_instances(labels)
    np.testing.assert_array_equal(got["label"], whole["label"])
    np.testing.assert_allclose(got["surface_area"], whole["surface_area"])
    ids, majority = instance_classes(labels, classes)
    np.testing.assert_array_equal(got["class"], majority)
    assert int(got.loc[got.label == 8 * 1_000_003, "class"].iloc[0]) == 3


def test_no_instance_anywhere_and_2d_are_refused(mask2d):
    with pytest.raises(ValueError, match="no block held an instance"):
        merge_sums([block_sums(np.zeros((3, 3, 3), np.int64), (0, 0, 0))])
    with pytest.raises(ValueError, match="3D only"):
        blockwise_measurements(mask2d, (64, 64), spacing=(1.0, 1.0))


def test_instances_come_out_once_as_each_layer_of_blocks_ends_them(mask3d):
    """Layers of 8 slices: every nucleus in exactly one part, in the part of the layer holding
    its last slice; a volume without instances gives the columns and no row."""
    from stages.measure_blocks import measurement_tables

    parts = list(measurement_tables(mask3d, (8, 16, 16)))
    labels = np.concatenate([part["label"].to_numpy() for part in parts])
    assert sorted(labels) == sorted(np.unique(mask3d)[1:]) and len(parts) > 2
    last_slice = {i: s[0].stop - 1 for i, s in enumerate(ndi.find_objects(mask3d), 1) if s}
    for layer, part in zip(sorted({last_slice[i] // 8 for i in labels}), parts):
        assert {last_slice[i] // 8 for i in part["label"]} == {layer}
    empty = blockwise_measurements(np.zeros((6, 8, 8), np.uint16), (4, 4, 4))
    assert len(empty) == 0 and "surface_area" in empty.columns


#: shape properties and every kind of position-dependent one (pixels and physical units)
EXTRAS = ["solidity", "euler_number", "extent", "axis_major_length", "moments_central",
          "bbox", "centroid", "coords", "coords_scaled", "slice"]  # fmt: skip


@pytest.mark.parametrize("block", [(8, 16, 16), (16, 32, 32), (64, 128, 128)])
def test_extra_properties_by_regions_equal_the_whole_volume_s(tmp_path, mask3d, block):
    """Real nuclei, anisotropic spacing, instances across block faces and corners, ids with
    gaps, read from a Zarr by regions."""
    from stages.labels import label_boxes_by_blocks
    from stages.measure_blocks import extra_properties_by_regions

    labels = np.where(mask3d > 0, mask3d.astype(np.uint32) * 7 + 1000, 0).astype(np.uint32)
    store = zarr.create_array(str(tmp_path / "l.zarr"), shape=labels.shape, dtype="uint32",
                              chunks=(8, 16, 16))  # fmt: skip
    store[...] = labels
    spacing = (2.0, 0.5, 0.75)
    whole = measure_instances(labels, spacing=spacing, extra_properties=EXTRAS)
    boxes = label_boxes_by_blocks(store, (8, 16, 16))
    found = extra_properties_by_regions(store, boxes, EXTRAS, block, spacing)
    assert found["label"].tolist() == whole["label"].tolist()
    for column in found.columns:
        expected, got = whole[column].to_numpy(), found[column].to_numpy()
        if column in ("coords", "coords_scaled"):
            for a, b in zip(expected, got):
                np.testing.assert_allclose(b, a)
        elif column == "slice":
            assert list(got) == list(expected)
        else:
            np.testing.assert_allclose(got.astype(float), expected.astype(float), rtol=1e-9)
