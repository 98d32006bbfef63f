"""Which augmentations a training patch gets, and their ranges (BiaPy's AUGMENTOR keys).

No torch here: the sampler (numpy) reads the flips and quarter turns, the batch
augmenter (torch) the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: the augmentations, in the order BiaPy's AUGMENTOR keys name them (KEY, KEY_PROB)
NAMES = (
    "hflip", "vflip", "zflip", "rot90", "random_rot", "zoom", "shear", "shift", "elastic",
    "g_blur", "median_blur", "motion_blur", "gamma_contrast", "brightness", "contrast",
    "dropout", "cutout", "cutblur", "cutmix", "cutnoise", "misalignment", "missing_sections",
    "grayscale", "channel_shuffle", "gridmask", "gaussian_noise", "poisson_noise", "salt",
    "pepper", "salt_and_pepper",
)  # fmt: skip
#: done by the sampler on numpy patches, exactly (no interpolation)
FLIPS_AND_TURNS = ("hflip", "vflip", "zflip", "rot90")
#: resampled through a sampling grid: labels move with nearest-neighbour sampling
WARPS = ("random_rot", "zoom", "shear", "shift", "elastic")
#: change the labels of a patch, so its channels are encoded again from them
CHANGE_LABELS = (*WARPS, "cutmix", "misalignment")
#: the padding modes of BiaPy's AFFINE_MODE and E_MODE
PADDING_MODES = ("constant", "reflect", "symmetric", "wrap", "nearest")


@dataclass(frozen=True)
class AugmentSettings:
    """The enabled augmentations with their probabilities, and every augmentation's ranges.

    Ranges are (low, high) drawn uniformly per patch, as BiaPy draws them; sizes of regions
    are fractions of the patch side.
    """

    probabilities: dict[str, float] = field(default_factory=lambda: {"hflip": 0.5, "vflip": 0.5})
    rotation_range: tuple[float, float] = (-180.0, 180.0)  # degrees, in the Y-X plane
    zoom_range: tuple[float, float] = (0.5, 1.5)
    zoom_in_z: bool = False
    shear_range: tuple[float, float] = (-20.0, 20.0)  # degrees
    shift_range: tuple[float, float] = (0.1, 0.2)  # fraction of the patch side
    affine_mode: str = "reflect"
    elastic_alpha: tuple[float, float] = (12.0, 16.0)  # pixels
    elastic_sigma: float = 4.0
    elastic_mode: str = "constant"
    gaussian_sigma: tuple[float, float] = (1.0, 2.0)
    median_kernel: tuple[int, int] = (3, 7)
    motion_kernel: tuple[int, int] = (8, 12)
    gamma: tuple[float, float] = (1.25, 1.75)
    brightness_factor: tuple[float, float] = (-0.1, 0.1)
    contrast_factor: tuple[float, float] = (-0.1, 0.1)
    dropout_range: tuple[float, float] = (0.0, 0.2)
    cutout_iterations: tuple[int, int] = (1, 3)
    cutout_size: tuple[float, float] = (0.05, 0.3)
    cutout_value: float = 0.0
    cutout_labels: bool = False
    cutblur_size: tuple[float, float] = (0.2, 0.4)
    cutblur_down: tuple[int, int] = (2, 8)
    cutblur_inside: bool = True
    cutmix_size: tuple[float, float] = (0.2, 0.4)
    cutnoise_scale: tuple[float, float] = (0.05, 0.1)
    cutnoise_iterations: tuple[int, int] = (1, 3)
    cutnoise_size: tuple[float, float] = (0.2, 0.4)
    misalignment_displacement: int = 16
    misalignment_rotate_ratio: float = 0.5
    missing_sections_probability: float = 0.5  # per section
    missing_sections_iterations: tuple[int, int] = (10, 30)  # half-width of the lost line
    grid_ratio: float = 0.6
    grid_period: tuple[float, float] = (0.4, 1.0)  # fraction of the patch side
    grid_rotate: float = 1.0  # fraction of a full turn
    grid_invert: bool = False
    gaussian_noise_mean: float = 0.0
    gaussian_noise_var: float = 0.05
    gaussian_noise_from_image: bool = False
    salt_amount: float = 0.05
    pepper_amount: float = 0.05
    salt_and_pepper_amount: float = 0.05
    salt_and_pepper_salt: float = 0.5  # share of salt
    samples: int = 0  # examples written to <model>/aug before training
    samples_grid: bool = True

    def __post_init__(self) -> None:
        unknown = set(self.probabilities) - set(NAMES)
        if unknown:
            raise ValueError(f"unknown augmentation(s) {sorted(unknown)}; known: {NAMES}")
        for mode in (self.affine_mode, self.elastic_mode):
            if mode not in PADDING_MODES:
                raise ValueError(f"padding mode {mode!r} is not one of {PADDING_MODES}")

    def probability(self, name: str) -> float:
        """How often ``name`` is applied (0 when it is not enabled)."""
        return float(self.probabilities.get(name, 0.0))

    @property
    def changes_labels(self) -> bool:
        """Whether some enabled augmentation moves or mixes labels (channels encoded again)."""
        return any(self.probability(name) > 0 for name in CHANGE_LABELS) or (
            self.cutout_labels and self.probability("cutout") > 0
        )

    @property
    def on_batches(self) -> bool:
        """Whether anything beyond flips and quarter turns is enabled (the torch augmenter)."""
        return bool(self.batch_augmentations)

    @property
    def batch_augmentations(self) -> tuple[str, ...]:
        """The enabled augmentations beyond flips and quarter turns (the torch augmenter's)."""
        return tuple(
            name for name, p in self.probabilities.items() if p > 0 and name not in FLIPS_AND_TURNS
        )
