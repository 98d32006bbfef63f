"""Distance channels: Db (to boundary), Dc (to centre), D (signed), H/V/Z (offsets to centroid)."""

from __future__ import annotations

import numpy as np

from .._lazy import lazy_import
from ..labels import instance_boxes
from ..labels.morphology import as_volume, inner_points, label_sizes_and_centroids, per_label_max
from ..threads import kernel_threads

# scipy and scikit-image load at first use: `segpipe predict` reads this module only for
# its metadata (see stages._lazy)
ndi = lazy_import("scipy.ndimage")
morphology = lazy_import("skimage.morphology")


def _multi_label_distance(
    labels: np.ndarray, *, background_zero: bool = True, squared: bool = False
) -> np.ndarray:
    """Distance of each pixel to the nearest pixel of another label (float32, one multi-label pass).

    Every label change is a boundary and the image border none; label 0 pixels get 0 when
    ``background_zero``, else the background is one more label (its pixels get the distance
    to the nearest instance). A label that fills the image (a patch inside one big cell) has
    no boundary at all and gets the distance to the image border instead of infinity.
    ``squared``: the squared distances (integers, exact in float32 below 2**24).
    """
    from ._distance_kernels import distance_to_other_labels

    volume = as_volume(labels)
    planar = labels.ndim == 2
    distances = distance_to_other_labels(
        volume, planar, False, background_zero, squared, kernel_threads()
    )
    if np.isinf(distances).any():
        # only an image of one label has no label change at all: every pixel is unbounded
        distances = distance_to_other_labels(
            volume, planar, True, background_zero, squared, kernel_threads()
        )
    return distances.reshape(labels.shape)


def _normalise_per_instance(
    values: np.ndarray, labels: np.ndarray, add_inside: float = 0.0
) -> np.ndarray:
    """(values + add_inside) / their maximum over each instance, 0 on background (float32).

    Overwrites ``values`` when it already is a contiguous float32 array: callers pass their own.
    """
    from ._encoding_kernels import divide_by_label_maximum

    out = np.ascontiguousarray(values, dtype=np.float32)
    flat_labels = np.ascontiguousarray(labels).ravel()
    divide_by_label_maximum(out.ravel(), flat_labels, int(labels.max(initial=0)) + 1, add_inside)
    return out


def encode_distance_to_boundary(
    labels: np.ndarray,
    *,
    norm: bool = True,
    mask_values: bool = True,
    act: str = "",
    background: float = 0.0,
) -> np.ndarray:
    """Db: distance to the instance boundary inside instances, ``background`` outside (0; BiaPy's
    Omnipose distance puts -5 there); per instance in [0, 1] if ``norm`` (``act``, the output
    activation, does not change the target)."""
    distance = _multi_label_distance(labels)
    distance = _normalise_per_instance(distance, labels) if norm else distance
    if background:
        distance[labels == 0] = background
    return distance


def encode_distance_to_center(
    labels: np.ndarray, *, type: str = "centroid", norm: bool = True, mask_values: bool = True
) -> np.ndarray:
    """Dc: distance to the instance centre (inner centroid pixel or skeleton) inside instances."""
    if type == "centroid":
        # the distance to one pixel is the Euclidean norm of the difference: no transform needed
        from ._encoding_kernels import distance_to_points

        table = np.zeros((int(labels.max(initial=0)) + 1, 3), dtype=np.float64)
        for label_id, point in inner_points(labels).items():
            table[label_id, 3 - labels.ndim :] = point
        out = distance_to_points(as_volume(labels), table).reshape(labels.shape)
    else:
        out = np.zeros(labels.shape, dtype=np.float32)
        for label_id, box in instance_boxes(labels):
            mask = labels[box] == label_id
            center = morphology.skeletonize(mask) & mask
            out[box][mask] = ndi.distance_transform_edt(~center)[mask]
    if norm:
        # + 1 so the centre itself is not confused with background by mask_values
        out = _normalise_per_instance(out, labels, add_inside=1.0)
    return out


def encode_signed_distance(
    labels: np.ndarray,
    *,
    act: str = "tanh",
    alpha: float = 1.0,
    beta: float = 1.0,
    norm: bool = True,
) -> np.ndarray:
    """D: positive distance to the boundary inside instances, negative distance to instances
    outside.

    With ``norm`` the inside is scaled per instance and the outside by its maximum, so
    D lies in [-1, 1]; ``beta`` scales the inside and ``alpha`` the outside, and with
    ``act='tanh'`` both pass through tanh (the network head is tanh too).
    """
    from ._encoding_kernels import assemble_signed_distance

    labels = np.ascontiguousarray(labels)
    count = int(labels.max(initial=0)) + 1
    if count == 1:
        return np.zeros(labels.shape, np.float32)
    # the background as one more label: one multi-label transform gives the distance to
    # the boundary inside instances and to the nearest instance outside (equal to the
    # two transforms, tested), where a binary one for the outside costs as much again
    distances = _multi_label_distance(labels, background_zero=False, squared=True)
    # scaling, tanh and the choice of side through a table of (id, squared distance)
    assemble_signed_distance(
        labels.ravel(), distances.ravel(), count, norm, act == "tanh", alpha, beta
    )
    return distances


def _offset_to_centroid(labels: np.ndarray, axis: int, norm: bool) -> np.ndarray:
    out = np.zeros(labels.shape, dtype=np.float32)
    if labels.max(initial=0) == 0:
        return out
    axis = axis % labels.ndim
    _, centroids = label_sizes_and_centroids(labels)
    center = centroids[:, axis].astype(np.float32)[labels]
    shape = [1] * labels.ndim
    shape[axis] = labels.shape[axis]
    coordinate = np.arange(labels.shape[axis], dtype=np.float32).reshape(shape)
    out = np.where(labels > 0, center - coordinate, 0).astype(np.float32)
    if norm:
        magnitude = per_label_max(np.abs(out), labels)
        out = np.divide(out, magnitude, out=np.zeros_like(out), where=magnitude > 0)
    return out


def encode_offset_x(
    labels: np.ndarray, *, norm: bool = True, mask_values: bool = True, act: str = ""
) -> np.ndarray:
    """H: signed offset from each instance pixel to its centroid along X, in [-1, 1] if ``norm``
    (``act``, the output activation, does not change the target)."""
    return _offset_to_centroid(labels, -1, norm)


def encode_offset_y(
    labels: np.ndarray, *, norm: bool = True, mask_values: bool = True, act: str = ""
) -> np.ndarray:
    """V: the same along Y."""
    return _offset_to_centroid(labels, -2, norm)


def encode_offset_z(
    labels: np.ndarray, *, norm: bool = True, mask_values: bool = True, act: str = ""
) -> np.ndarray:
    """Z: the same along Z (3D only)."""
    return _offset_to_centroid(labels, -3, norm)


def _distance_to_other_instances(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every instance pixel, the distance to the nearest pixel of another instance.

    Exact, yet computed in a window around each instance: a distance found inside a
    window that reaches ``margin`` beyond the instance is the true one when it is at
    most ``margin`` (anything outside is farther), else the window doubles.
    Returns the distances and a mask of instances that have any other instance at all.
    """
    out = np.zeros(labels.shape, dtype=np.float32)
    has_neighbour = np.zeros(labels.shape, dtype=bool)
    present = instance_boxes(labels)
    if len(present) < 2:
        return out, has_neighbour
    for label_id, box in present:
        margin = max(s.stop - s.start for s in box)
        while True:
            window = tuple(
                slice(max(0, s.start - margin), min(n, s.stop + margin))
                for s, n in zip(box, labels.shape)
            )
            local = labels[window]
            others = (local > 0) & (local != label_id)
            covers_all = all(w.start == 0 and w.stop == n for w, n in zip(window, labels.shape))
            if others.any():
                distance = ndi.distance_transform_edt(~others)
                mine = local == label_id
                if distance[mine].max() <= margin or covers_all:
                    out[window][mine] = distance[mine]
                    has_neighbour[window][mine] = True
                    break
            elif covers_all:
                break  # a lone instance: no neighbour anywhere
            margin *= 2
    return out, has_neighbour


def encode_distance_to_neighbours(
    labels: np.ndarray,
    *,
    closing_size: int = 3,
    norm: bool = True,
    mask_values: bool = True,
    decline_power: int = 3,
) -> np.ndarray:
    """Dn: closeness of each instance pixel to the neighbouring instances (high in crowded
    contacts).

    The distance to the nearest other instance is scaled per instance to [0, 1] and
    inverted (or, without ``norm``, subtracted from its maximum), grey-closed with a
    ``closing_size`` box and raised to ``decline_power`` so it falls off quickly away
    from contacts. Instances with no other instance in the image stay 0.
    """
    distance, has_neighbour = _distance_to_other_instances(labels)
    out = np.zeros(labels.shape, dtype=np.float32)
    if not has_neighbour.any():
        return out
    if norm:
        scaled = _normalise_per_instance(distance, np.where(has_neighbour, labels, 0))
        out[has_neighbour] = 1.0 - scaled[has_neighbour]
    else:
        top = float(distance[has_neighbour].max())
        out[has_neighbour] = top - distance[has_neighbour]
    if closing_size > 0:
        out = ndi.grey_closing(out, size=(closing_size,) * labels.ndim)
    if decline_power != 1:
        # normalised values already lie in [0, 1]; raw ones are scaled there and back
        top = 1.0 if norm else float(out.max())
        if top > 0:
            out = (out / top) ** decline_power * top
    return out.astype(np.float32)
