import numpy as np
import pytest
from skimage.segmentation import find_boundaries

from stages.pictures import (
    PREDICTION_COLOUR,
    TRUTH_COLOUR,
    display_grey,
    image_panels,
    outline_overlay,
    save_panels,
)


def test_outlines_are_the_instances_inner_boundaries(mask2d, img2d):
    truth = mask2d[:128, :128]
    predicted = np.roll(truth, 2, axis=1)  # the same nuclei, two pixels off
    grey = display_grey(img2d[:128, :128, np.newaxis], 2)
    assert grey.min() == 0 and grey.max() == 1
    picture = outline_overlay(grey, predicted, truth)
    predicted_edges = find_boundaries(predicted, mode="inner")
    truth_edges = find_boundaries(truth, mode="inner")
    yellow = (picture == PREDICTION_COLOUR).all(axis=-1)
    magenta = (picture == TRUTH_COLOUR).all(axis=-1)
    np.testing.assert_array_equal(yellow, predicted_edges & ~truth_edges)
    np.testing.assert_array_equal(magenta, truth_edges & ~predicted_edges)
    assert (picture[truth_edges & predicted_edges] == 1).all()
    inside = ~(predicted_edges | truth_edges)
    np.testing.assert_array_equal(picture[inside], np.repeat(grey[inside][:, None], 3, axis=1))


def test_volumes_show_their_middle_slice(mask3d, rng):
    raw = rng.random((*mask3d.shape, 1)).astype(np.float32)
    associations = np.zeros((*mask3d.shape, 3), np.uint8)
    associations[15, 5, 5] = (0, 255, 0)
    panels = image_panels(raw, mask3d, mask3d, associations)
    assert [name for name, _ in panels][1] == "outlines: prediction yellow, truth magenta"
    assert all(picture.shape[:2] == mask3d.shape[1:] for _, picture in panels)
    np.testing.assert_array_equal(panels[2][1], associations[15])
    edges = find_boundaries(mask3d[15], mode="inner")
    assert (panels[1][1][edges] == 1).all()  # truth and prediction agree: white


@pytest.mark.parametrize("count", [2, 3])
def test_panels_are_saved_as_a_png(tmp_path, mask2d, img2d, count):
    raw = img2d[:64, :64, np.newaxis]
    truth = mask2d[:64, :64]
    panels = image_panels(raw, truth, truth if count == 3 else None)
    if count == 3:
        panels = panels[:3]
    save_panels(panels, tmp_path / "p.png", "title")
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
