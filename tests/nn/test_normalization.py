import numpy as np
import pytest

import stages.nn.normalization as normalization
from stages.nn.normalization import (
    Normalization,
    float_keys,
    image_normalization,
    key_values,
    normalize_image,
    percentiles,
    slabs_of,
)

BASE = {"perc_clip": False, "lower_perc": 0, "upper_perc": 100, "mean": None, "std": None}


def test_normalisations():
    image = np.arange(24, dtype=np.float32).reshape(4, 6, 1) * 10
    z = normalize_image(image, {**BASE, "type": "zero_mean_unit_variance"})
    assert z.mean() == pytest.approx(0, abs=1e-6) and z.std() == pytest.approx(1, abs=1e-5)
    s = normalize_image(image, {**BASE, "type": "scale_range"})
    assert s.min() == 0 and s.max() == pytest.approx(1)
    fixed = normalize_image(
        image, {**BASE, "type": "zero_mean_unit_variance", "mean": 10.0, "std": 2.0}
    )
    assert fixed[0, 0, 0] == pytest.approx(-5)
    d = normalize_image(image, {**BASE, "type": "div"})
    assert d.max() == pytest.approx(230 / 255)
    clipped = normalize_image(
        image,
        {**BASE, "type": "scale_range", "perc_clip": True, "lower_perc": 10, "upper_perc": 90},
    )
    assert (clipped == 0).sum() >= 2 and (clipped == 1).sum() >= 2


def test_statistics_gathered_by_slabs_equal_numpys(monkeypatch):
    monkeypatch.setattr(normalization, "STATISTICS_SLAB", 50)  # many slabs
    image = np.random.default_rng(3).normal(5.0, 2.0, (37, 21, 2)).astype(np.float32)
    settings = {**BASE, "type": "zero_mean_unit_variance"}
    found = image_normalization(lambda: slabs_of(image), settings)
    np.testing.assert_allclose(found.subtract, image.astype(np.float64).mean(axis=(0, 1)))
    np.testing.assert_allclose(found.divide, image.astype(np.float64).std(axis=(0, 1)), rtol=1e-6)
    original = image.copy()
    copied = normalize_image(image, settings)
    np.testing.assert_array_equal(image, original)  # copy=True leaves the input alone
    in_place = normalize_image(image, settings, copy=False)
    assert in_place is image  # float32 and copy=False: the work is done on the input
    np.testing.assert_allclose(in_place, copied)
    np.testing.assert_allclose(copied.mean(axis=(0, 1)), 0.0, atol=1e-5)


def test_keys_sort_as_the_floats_do():
    values = np.array(
        [-np.inf, -3e38, -2.5, -1e-40, -0.0, 0.0, 1e-40, 1.0, 1.5, 7e20, np.inf], np.float32
    )
    keys = float_keys(values)
    assert np.all(np.diff(keys.astype(np.int64)) >= 0)
    np.testing.assert_array_equal(key_values(keys), values)


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: rng.normal(100.0, 30.0, (41, 23, 2)).astype(np.float32),
        lambda rng: rng.integers(0, 4000, (41, 23, 1)).astype(np.uint16),
        lambda rng: np.where(rng.random((41, 23, 1)) < 0.9, 0, rng.random((41, 23, 1))),
        lambda rng: np.full((5, 7, 1), 3.0, np.float32),
    ],
)
def test_percentiles_equal_numpys_for_any_slabs(monkeypatch, make):
    monkeypatch.setattr(normalization, "STATISTICS_SLAB", 70)
    image = make(np.random.default_rng(0)).astype(np.float32)
    wanted = (0.0, 0.1, 2.0, 37.5, 50.0, 99.8, 100.0)
    found = percentiles(lambda: slabs_of(image), wanted)
    for q, values in zip(wanted, found):
        np.testing.assert_allclose(
            values, np.percentile(image, q, axis=(0, 1)), rtol=1e-6, err_msg=f"q={q}"
        )


@pytest.mark.parametrize("kind", ["zero_mean_unit_variance", "scale_range", "div"])
def test_a_volume_read_in_regions_is_normalised_as_the_whole_image(monkeypatch, img3d, kind):
    """The statistics of slabs read one by one (as from a volume on disk) normalise any region
    of it exactly as normalising the whole image in memory does."""
    monkeypatch.setattr(normalization, "STATISTICS_SLAB", 3000)
    image = img3d[..., np.newaxis].astype(np.float32)
    settings = {**BASE, "type": kind, "perc_clip": True, "lower_perc": 1.0, "upper_perc": 99.8}
    whole = normalize_image(image, settings)
    slabs = lambda: (image[z : z + 2].copy() for z in range(0, 31, 2))  # noqa: E731
    found = image_normalization(slabs, settings)
    again = Normalization.from_json(found.to_json())
    region = normalization.apply_normalization(image[5:20, 10:40, 3:50].copy(), again)
    np.testing.assert_allclose(region, whole[5:20, 10:40, 3:50], rtol=1e-6, atol=1e-6)
    assert whole.min() < whole.max()
