import numpy as np
import pytest
import torch

from stages.nn.augment import intensity


def _generator(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def patch(img2d):
    image = img2d[:64, :64].astype(np.float32)
    return torch.from_numpy((image - image.mean()) / image.std())[None]


def test_gamma_keeps_the_range_and_darkens_the_middle(patch):
    out = intensity.gamma_contrast(patch, 1.5)
    assert float(out.min()) == pytest.approx(float(patch.min()), abs=1e-5)
    assert float(out.max()) == pytest.approx(float(patch.max()), abs=1e-5)
    assert float(out.mean()) < float(patch.mean())


def test_gaussian_noise_has_the_asked_mean_and_variance(patch):
    out = intensity.gaussian_noise(patch, 0.5, 0.04, _generator())
    added = (out - patch).numpy()
    assert added.mean() == pytest.approx(0.5, abs=0.02)
    assert added.var() == pytest.approx(0.04, rel=0.1)


def test_poisson_noise_stays_in_the_patch_range_and_is_unbiased(patch):
    out = intensity.poisson_noise(patch, _generator())
    assert float(out.min()) >= float(patch.min()) - 1e-5
    assert float(out.max()) <= float(patch.max()) + 1e-3 * float(patch.max() - patch.min()) + 1
    assert float((out - patch).mean()) == pytest.approx(0.0, abs=0.05)
    assert not torch.equal(out, patch)


@pytest.mark.parametrize("salt", [1.0, 0.0, 0.5])
def test_salt_and_pepper_sets_the_asked_share_to_the_extremes(patch, salt):
    out = intensity.salt_and_pepper(patch, 0.2, salt, _generator())
    high = float((out == patch.max()).float().mean() - (patch == patch.max()).float().mean())
    low = float((out == patch.min()).float().mean() - (patch == patch.min()).float().mean())
    assert high == pytest.approx(0.2 * salt, abs=0.02)
    assert low == pytest.approx(0.2 * (1 - salt), abs=0.02)


def test_dropout_zeroes_the_asked_share_of_pixels_in_every_channel():
    patch = torch.ones(3, 100, 100)
    out = intensity.dropout(patch, 0.3, _generator())
    dropped = out == 0
    assert float(dropped.float().mean()) == pytest.approx(0.3, abs=0.02)
    assert torch.equal(dropped[0], dropped[2])


@pytest.mark.parametrize("shape", [(1, 32, 32), (1, 4, 32, 32)])
def test_blurs_keep_a_constant_patch_and_smooth_an_edge(shape):
    flat = torch.full(shape, 2.0)
    torch.testing.assert_close(intensity.blur(flat, 1.5), flat)
    torch.testing.assert_close(intensity.median_blur(flat, 5), flat)
    kernel = intensity.motion_kernel(9, 30.0, 0.2, torch.device("cpu"))
    assert float(kernel.sum()) == pytest.approx(1.0)
    torch.testing.assert_close(intensity.motion_blur(flat, kernel), flat)
    edge = torch.zeros(shape)
    edge[..., 16:] = 1.0
    blurred = intensity.blur(edge, 2.0)
    assert 0.0 < float(blurred[..., 15].mean()) < 0.5 < float(blurred[..., 16].mean()) < 1.0


def test_the_median_removes_isolated_salt(patch):
    noisy = intensity.salt_and_pepper(patch, 0.02, 1.0, _generator())
    cleaned = intensity.median_blur(noisy, 3)
    assert int((cleaned == patch.max()).sum()) < int((noisy == patch.max()).sum()) / 5


def test_grayscale_gives_every_channel_the_mean():
    patch = torch.stack([torch.zeros(4, 4), torch.ones(4, 4), 2 * torch.ones(4, 4)])
    assert torch.equal(intensity.grayscale(patch), torch.ones(3, 4, 4))
