"""Post-processing: what happens to predicted channels before decoding (median filtering) and
to instances after it (large-blob repair, removal by measured properties).

Each function takes arrays and returns arrays, on (Y,X) and (Z,Y,X); the stage commands and
the workflow rules around them read the TEST.POST_PROCESSING keys.
"""

from .large_blobs import repair_large_blobs
from .median import (
    MEDIAN_AXES,
    median_filter_by_blocks,
    median_filter_channels,
    median_footprint,
)
from .properties import CONDITION_PROPERTIES, SIGNS, Condition, remove_by_properties

__all__ = [
    "CONDITION_PROPERTIES",
    "MEDIAN_AXES",
    "SIGNS",
    "Condition",
    "median_filter_by_blocks",
    "median_filter_channels",
    "median_footprint",
    "remove_by_properties",
    "repair_large_blobs",
]
