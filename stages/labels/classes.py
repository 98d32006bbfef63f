"""Instance classes: one class per instance, taken from a per-pixel class map.

A label image with classes is BiaPy's two-channel one: instance ids, then class ids
(0 background, 1..N-1 the classes), channel last. numpy only; no loop over instances.
"""

from __future__ import annotations

import numpy as np

#: the class an instance gets when no pixel under it carries one (BiaPy's choice)
DEFAULT_CLASS = 1


def instance_classes(instances: np.ndarray, class_map: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The majority class of each instance's pixels, background (0) pixels not counted.

    Parameters
    ----------
    instances : (Y, X) or (Z, Y, X) integer labels, 0 background.
    class_map : same shape, integer classes (0 background).

    Returns
    -------
    ids, classes
        The instance ids present, ascending, and each one's class; an instance whose pixels
        are all class 0 gets :data:`DEFAULT_CLASS`; a tie goes to the smaller class.
    """
    if instances.shape != class_map.shape:
        raise ValueError(
            f"instance ids {instances.shape} and classes {class_map.shape} differ in shape"
        )
    inside = instances != 0
    ids, compact = np.unique(instances[inside], return_inverse=True)
    if ids.size == 0:
        return ids, np.zeros(0, dtype=np.int64)
    classes = class_map[inside].astype(np.int64)
    if classes.min(initial=0) < 0:
        raise ValueError("class ids must be 0 or more")
    count = int(classes.max(initial=0)) + 1
    votes = np.bincount(compact * count + classes, minlength=ids.size * count)
    votes = votes.reshape(ids.size, count)
    votes[:, 0] = 0
    chosen = votes.argmax(axis=1)
    chosen[votes.max(axis=1) == 0] = DEFAULT_CLASS
    return ids, chosen


def paint_classes(instances: np.ndarray, ids: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """A class map giving every pixel of instance ``ids[k]`` the class ``classes[k]``.

    Instances not in ``ids`` get :data:`DEFAULT_CLASS`; background stays 0.
    """
    order = np.argsort(ids)
    ids, classes = np.asarray(ids)[order], np.asarray(classes)[order]
    dtype = np.uint8 if classes.size == 0 or int(classes.max()) < 256 else np.uint16
    out = np.zeros(instances.shape, dtype=dtype)
    inside = instances != 0
    values = instances[inside]
    where = np.searchsorted(ids, values)
    found = where < ids.size
    found[found] = ids[where[found]] == values[found]
    painted = np.full(values.shape, DEFAULT_CLASS, dtype=dtype)
    painted[found] = classes[where[found]]
    out[inside] = painted
    return out


def classes_by_majority(instances: np.ndarray, class_map: np.ndarray) -> np.ndarray:
    """The class map of ``instances`` with each instance in its majority class.

    Decode uses it on the network's per-pixel classes; each post-processing step on the class
    map of its input, so an instance that grew or merged keeps the class most of it had.
    """
    ids, classes = instance_classes(instances, class_map)
    return paint_classes(instances, ids, classes)


def class_table(instances: np.ndarray, class_map: np.ndarray) -> dict[int, int]:
    """{instance id: class} of a label image whose instances each hold one class."""
    ids, classes = instance_classes(instances, class_map)
    return {int(i): int(c) for i, c in zip(ids, classes)}
