"""Instance label images: the one check, label-aware morphology and per-instance boxes.

Shared by the encoders (channels), the decoders, refinement and measurement.
"""

from .check import MAX_ID, check_labels, label_dtype
from .instances import (
    compact_ids,
    instance_boxes,
    instance_count,
    instance_count_by_blocks,
    label_boxes_by_blocks,
    label_sizes_by_blocks,
    restore_ids,
)

__all__ = [
    "MAX_ID",
    "check_labels",
    "compact_ids",
    "instance_boxes",
    "instance_count",
    "instance_count_by_blocks",
    "label_boxes_by_blocks",
    "label_sizes_by_blocks",
    "label_dtype",
    "restore_ids",
]
