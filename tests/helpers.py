"""Small synthetic label images for unit tests."""
from __future__ import annotations

import numpy as np


def touching_squares(ids: tuple[int, int] = (1, 2)) -> np.ndarray:
    """Two 6x6 squares that touch along one column."""
    labels = np.zeros((12, 16), dtype=np.uint16)
    labels[3:9, 2:8] = ids[0]
    labels[3:9, 8:14] = ids[1]
    return labels
