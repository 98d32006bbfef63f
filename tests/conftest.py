"""Shared fixtures: the real stardist masks and small synthetic label images (seeded)."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from stages.demo import stardist_data_folder


@pytest.fixture(scope="session")
def mask2d() -> np.ndarray:
    """Real nuclei, hand-made ground truth: 512x512, 125 instances."""
    return tifffile.imread(stardist_data_folder() / "mask2d.tif")


@pytest.fixture(scope="session")
def mask3d() -> np.ndarray:
    """Real nuclei in 3D: 31x61x57, 51 instances."""
    return tifffile.imread(stardist_data_folder() / "mask3d.tif")


@pytest.fixture(scope="session")
def img2d() -> np.ndarray:
    return tifffile.imread(stardist_data_folder() / "img2d.tif")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def img3d() -> np.ndarray:
    """The real 3D nuclei image of mask3d."""
    return tifffile.imread(stardist_data_folder() / "img3d.tif")
