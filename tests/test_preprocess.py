import numpy as np
import pytest
from scipy import ndimage as ndi

from stages.preprocess import (
    PreprocessSettings,
    ResizeSettings,
    canny_edges,
    clahe,
    gaussian_blur,
    match_histogram,
    median_blur,
    preprocess_image,
    reference_histogram,
    resize_channels,
    resize_image,
    resize_labels,
)


@pytest.fixture(scope="module")
def image2d(img2d) -> np.ndarray:
    return img2d[..., np.newaxis]  # (Y, X, C), uint16


def test_labels_resized_up_and_back_are_the_real_mask_again(mask2d, mask3d):
    for mask in (mask2d, mask3d):
        double = tuple(2 * s for s in mask.shape)
        up = resize_labels(mask, double)
        assert up.shape == double and up.dtype == mask.dtype
        assert set(np.unique(up)) == set(np.unique(mask))  # no blended id
        np.testing.assert_array_equal(resize_labels(up, mask.shape), mask)
    # a label image with a class channel keeps it, resized alike
    stacked = np.stack([mask2d, (mask2d > 0) * 2], -1)
    resized = resize_labels(stacked, (256, 256))
    assert resized.shape == (256, 256, 2)
    np.testing.assert_array_equal(resized[..., 1], (resized[..., 0] > 0) * 2)


def test_images_resize_in_their_dtype_and_range(image2d, img3d):
    resized = resize_image(image2d, ResizeSettings((300, 200)))
    assert resized.shape == (300, 200, 1) and resized.dtype == np.uint16
    assert 0 <= resized.min() and resized.max() <= image2d.max()
    # linear interpolation of a ramp stays a ramp
    ramp = np.tile(np.arange(0, 64, dtype=np.float32), (8, 1))[..., None]
    stretched = resize_image(ramp, ResizeSettings((8, 127), mode="edge"))
    np.testing.assert_allclose(stretched[0, :, 0], np.linspace(0, 63, 127), atol=0.3)
    volume = resize_image(img3d[..., None], ResizeSettings((20, 40, 30), order=0))
    assert volume.shape == (20, 40, 30, 1) and set(np.unique(volume)) <= set(np.unique(img3d))
    with pytest.raises(ValueError, match="one size per spatial axis"):
        resize_image(image2d, ResizeSettings((20, 40, 30)))


def test_channels_resized_back_keep_their_planes(mask2d):
    from stages.channels import encode_channels

    channels = encode_channels(mask2d, ["F", "C"])
    small = resize_channels(channels, (256, 256), ResizeSettings((256, 256)))
    back = resize_channels(small, (512, 512), ResizeSettings((256, 256)))
    assert back.shape == channels.shape and back.dtype == np.float32
    assert ((back[0] > 0.5) == (channels[0] > 0.5)).mean() > 0.98


def test_blurs_filter_each_channel_along_the_spatial_axes_only(image2d):
    two = np.concatenate([image2d, np.zeros_like(image2d)], -1)
    blurred = gaussian_blur(two, 2.0)
    assert blurred.dtype == np.uint16 and not blurred[..., 1].any()  # channels never mixed
    expected = ndi.gaussian_filter(image2d[..., 0].astype(np.float32), 2.0, mode="nearest")
    np.testing.assert_array_equal(blurred[..., 0], np.rint(expected).astype(np.uint16))
    noisy = image2d.copy()
    noisy[::7, ::5] = 60000  # salt
    cleaned = median_blur(noisy, (3, 3))
    assert cleaned.max() <= image2d.max() and cleaned.dtype == np.uint16
    with pytest.raises(ValueError, match="one size per spatial axis"):
        median_blur(image2d, (3, 3, 3))


def test_histogram_matching_maps_onto_the_reference_distribution(image2d, img3d):
    from skimage.exposure import match_histograms

    reference = reference_histogram([image2d[:256]])
    matched = match_histogram(image2d[256:], reference)
    assert matched.dtype == np.uint16
    expected = match_histograms(image2d[256:, :, 0], image2d[:256, :, 0])
    np.testing.assert_allclose(matched[..., 0], np.rint(expected), atol=1)
    # an image matched to itself is itself; a 3D volume to a 2D reference works too
    itself = match_histogram(image2d, reference_histogram([image2d]))
    np.testing.assert_array_equal(itself, image2d)
    volume = match_histogram(img3d[..., None], reference)
    assert volume.shape == img3d.shape + (1,) and volume.max() <= image2d.max()


def test_clahe_spreads_an_integer_image_over_its_dtype_and_keeps_floats_in_unit_range(image2d):
    from skimage.exposure import equalize_adapthist

    equalised = clahe(image2d, 0.02)
    assert equalised.dtype == np.uint16 and equalised.max() > 60000
    plane = image2d[..., 0].astype(np.float64)
    scaled = (plane - plane.min()) / (plane.max() - plane.min())
    expected = equalize_adapthist(scaled, clip_limit=0.02) * 65535
    np.testing.assert_allclose(equalised[..., 0], np.rint(expected), atol=1)
    floats = clahe(image2d.astype(np.float32), 0.02, kernel_size=(64, 64))
    assert floats.dtype == np.float32 and 0 <= floats.min() and floats.max() <= 1


def test_canny_edges_are_one_uint8_channel_of_a_2d_image(image2d):
    edges = canny_edges(image2d.astype(np.float32), 5.0, 20.0)
    assert edges.shape == image2d.shape and edges.dtype == np.uint8
    assert set(np.unique(edges)) == {0, 255} and 0.01 < (edges > 0).mean() < 0.3
    with pytest.raises(ValueError, match="2D images only"):
        canny_edges(np.zeros((4, 8, 8, 1)), None, None)


def test_steps_run_in_biapys_order(image2d):
    settings = PreprocessSettings(
        resize=ResizeSettings((256, 256)), gaussian_sigma=1.0, median_size=(3, 3)
    )
    out = preprocess_image(image2d, settings)
    by_hand = median_blur(gaussian_blur(resize_image(image2d, settings.resize), 1.0), (3, 3))
    np.testing.assert_array_equal(out, by_hand)
    assert settings.filters and not PreprocessSettings(resize=settings.resize).filters
    with pytest.raises(ValueError, match="reference"):
        preprocess_image(image2d, PreprocessSettings(histogram_reference="somewhere"))
