"""Preprocessing of raw images before training and prediction (BiaPy's DATA.PREPROCESS).

Every function takes a raw image channel last, ([Z,] Y, X, C), filters along the spatial
axes only (channels are never mixed) and returns the image in its own dtype: integer images
keep their range (values rounded and clipped), as BiaPy returns them. The steps run in
BiaPy's order: resize, Gaussian blur, median blur, histogram matching, CLAHE, Canny edges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ResizeSettings:
    """skimage.transform.resize's settings (BiaPy's DATA.PREPROCESS.RESIZE)."""

    shape: tuple[int, ...]  # spatial output shape, ([Z,] Y, X)
    order: int = 1
    mode: str = "reflect"
    cval: float = 0.0
    clip: bool = True
    preserve_range: bool = True
    anti_aliasing: bool = False


@dataclass(frozen=True)
class PreprocessSettings:
    """The steps to run; a step left None is off."""

    resize: ResizeSettings | None = None
    gaussian_sigma: float | None = None
    gaussian_mode: str = "nearest"
    median_size: tuple[int, ...] | None = None  # window per spatial axis
    histogram_reference: str | None = None  # a folder (or file) of reference images
    clahe_kernel: tuple[int, ...] | int | None = None  # None: 1/8 of each side (skimage's)
    clahe_clip: float | None = None  # CLAHE's clip limit; None: no CLAHE
    canny: tuple[float | None, float | None] | None = None  # (low, high) thresholds

    @property
    def filters(self) -> bool:
        """Whether any step other than resizing runs."""
        return any(
            v is not None
            for v in (
                self.gaussian_sigma,
                self.median_size,
                self.histogram_reference,
                self.clahe_clip,
                self.canny,
            )
        )


def _in_dtype(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float ``values`` back in ``dtype``: integers rounded and clipped to the dtype's range."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    if np.dtype(dtype) == np.dtype(bool):
        return values > 0.5
    return values.astype(dtype, copy=False)


def resize_image(image: np.ndarray, settings: ResizeSettings) -> np.ndarray:
    """A raw image ([Z,] Y, X, C) resized to ``settings.shape`` (channels kept)."""
    from skimage.transform import resize

    shape = tuple(settings.shape)
    if len(shape) != image.ndim - 1:
        raise ValueError(
            f"resize to {list(shape)} needs one size per spatial axis of {image.shape}"
        )
    resized = resize(
        image.astype(np.float32),
        (*shape, image.shape[-1]),
        order=settings.order,
        mode=settings.mode,
        cval=settings.cval,
        clip=settings.clip,
        preserve_range=True,  # values stay those of the image (BiaPy's PRESERVE_RANGE default)
        anti_aliasing=settings.anti_aliasing,
    )
    return _in_dtype(resized, image.dtype)


def resize_labels(labels: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Instance labels ([Z,] Y, X[, classes]) resized to ``shape`` by nearest neighbour: ids are
    never blended, whatever the image's interpolation order or anti-aliasing."""
    from skimage.transform import resize

    shape = tuple(shape)
    target = shape if labels.ndim == len(shape) else (*shape, labels.shape[-1])
    resized = resize(labels, target, order=0, mode="edge", preserve_range=True, anti_aliasing=False)
    return resized.astype(labels.dtype)


def resize_channels(
    channels: np.ndarray, shape: Sequence[int], settings: ResizeSettings
) -> np.ndarray:
    """Predicted (C, [Z,] Y, X) channels resized to the spatial ``shape`` (back to the image's
    own after predicting it resized), with the image's interpolation order."""
    from skimage.transform import resize

    out = np.empty((channels.shape[0], *shape), np.float32)
    for index, plane in enumerate(channels):
        out[index] = resize(
            plane.astype(np.float32),
            tuple(shape),
            order=settings.order,
            mode=settings.mode,
            cval=settings.cval,
            clip=True,
            preserve_range=True,
            anti_aliasing=settings.anti_aliasing,
        )
    return out


def gaussian_blur(image: np.ndarray, sigma: float, mode: str = "nearest") -> np.ndarray:
    """Each channel blurred with a Gaussian of ``sigma`` pixels along the spatial axes."""
    from scipy import ndimage as ndi

    sigmas = (sigma,) * (image.ndim - 1) + (0,)
    return _in_dtype(ndi.gaussian_filter(image.astype(np.float32), sigmas, mode=mode), image.dtype)


def median_blur(image: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Each channel median-filtered with a window of ``size`` per spatial axis."""
    from scipy import ndimage as ndi

    size = tuple(int(s) for s in size)
    if len(size) != image.ndim - 1:
        raise ValueError(f"median window {list(size)} needs one size per spatial axis")
    return ndi.median_filter(image, size=(*size, 1), mode="reflect")


@dataclass(frozen=True)
class ReferenceHistogram:
    """The pooled intensity distribution of reference images: each distinct value and the
    fraction of pixels at or below it, per channel (or one for all channels)."""

    values: list[np.ndarray]
    quantiles: list[np.ndarray]


def reference_histogram(images: Sequence[np.ndarray]) -> ReferenceHistogram:
    """The distribution of the pixels of ``images`` (each ([Z,] Y, X, C)), pooled over images
    per channel; images with different channel counts pool all channels."""
    channels = {image.shape[-1] for image in images}
    per_channel = len(channels) == 1
    count = channels.pop() if per_channel else 1
    values, quantiles = [], []
    for channel in range(count):
        pooled = np.concatenate(
            [(image[..., channel] if per_channel else image).ravel() for image in images]
        )
        distinct, counts = np.unique(pooled, return_counts=True)
        values.append(distinct.astype(np.float64))
        quantiles.append(np.cumsum(counts) / pooled.size)
    return ReferenceHistogram(values, quantiles)


def match_histogram(image: np.ndarray, reference: ReferenceHistogram) -> np.ndarray:
    """``image`` with each channel's distribution mapped onto the reference's (the value at
    each pixel's quantile), as skimage's match_histograms with pooled references."""
    out = np.empty(image.shape, np.float64)
    for channel in range(image.shape[-1]):
        index = channel if len(reference.values) == image.shape[-1] else 0
        plane = image[..., channel]
        distinct, inverse, counts = np.unique(plane, return_inverse=True, return_counts=True)
        source_quantiles = np.cumsum(counts) / plane.size
        mapped = np.interp(source_quantiles, reference.quantiles[index], reference.values[index])
        out[..., channel] = mapped[inverse.reshape(plane.shape)]
    return _in_dtype(out, image.dtype)


def clahe(
    image: np.ndarray, clip_limit: float = 0.01, kernel_size: tuple[int, ...] | int | None = None
) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation of each channel (skimage's, in 2D and
    3D); integer images come back over their dtype's whole range, float ones in [0, 1]."""
    from skimage.exposure import equalize_adapthist

    out = np.empty(image.shape, np.float64)
    for channel in range(image.shape[-1]):
        plane = image[..., channel]
        low, high = float(plane.min()), float(plane.max())
        scaled = (plane - low) / (high - low) if high > low else np.zeros(plane.shape)
        out[..., channel] = equalize_adapthist(
            scaled, kernel_size=kernel_size, clip_limit=clip_limit
        )
    if np.issubdtype(image.dtype, np.integer):
        out = out * np.iinfo(image.dtype).max
    return _in_dtype(out, image.dtype)


def canny_edges(image: np.ndarray, low: float | None, high: float | None) -> np.ndarray:
    """The Canny edges of a 2D image (grey, or RGB made grey) as one uint8 channel, 255 on
    edges."""
    from skimage.feature import canny

    if image.ndim != 3:
        raise ValueError("Canny edges are for 2D images only")
    if image.shape[-1] == 3:
        from skimage.color import rgb2gray

        grey = rgb2gray(image)
    elif image.shape[-1] == 1:
        grey = image[..., 0]
    else:
        raise ValueError(f"Canny edges need a grey or RGB image, not {image.shape[-1]} channels")
    edges = canny(grey.astype(np.float64), low_threshold=low, high_threshold=high)
    return (edges.astype(np.uint8) * 255)[..., np.newaxis]


def preprocess_image(
    image: np.ndarray,
    settings: PreprocessSettings,
    reference: ReferenceHistogram | None = None,
) -> np.ndarray:
    """Every step of ``settings`` on a raw image ([Z,] Y, X, C), in BiaPy's order.
    ``reference``: the histogram to match when ``settings.histogram_reference`` is set."""
    if settings.resize is not None:
        image = resize_image(image, settings.resize)
    if settings.gaussian_sigma is not None:
        image = gaussian_blur(image, settings.gaussian_sigma, settings.gaussian_mode)
    if settings.median_size is not None:
        image = median_blur(image, settings.median_size)
    if settings.histogram_reference is not None:
        if reference is None:
            raise ValueError("histogram matching needs the reference images' histogram")
        image = match_histogram(image, reference)
    if settings.clahe_clip is not None:
        image = clahe(image, settings.clahe_clip, settings.clahe_kernel)
    if settings.canny is not None:
        image = canny_edges(image, *settings.canny)
    return image
