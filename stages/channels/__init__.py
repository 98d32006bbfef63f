"""Label image → channel encoders, registered by channel code.

Each encoder is a pure function ``labels -> (k, [Z,] Y, X) float32`` with its
options as keyword arguments; :class:`Encoder` holds its defaults, checks options
in one place and says how the channel is learnt (binary or regression, output
activation, masked loss).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..labels import check_labels, compact_ids
from . import affinity, binary, distance, embedding, flows, rays


@dataclass(frozen=True)
class Encoder:
    code: str
    function: Callable[..., np.ndarray]
    kind: str  # "binary" (BCE on logits) or "regression" (L1; squared error with ``squared``)
    defaults: dict[str, Any] = field(default_factory=dict)
    choices: dict[str, tuple] = field(default_factory=dict)
    #: how seeds/surfaces use the channel in the watershed: above, below or gradient
    polarity: str = "above"
    #: names of the output planes when the code has several (R rays, A offsets, E parts)
    plane_names: Callable[[dict[str, Any], int], list[str]] | None = None
    #: ndim-dependent defaults filled in by resolve_options (R nrays, A neighbourhood)
    ndim_defaults: dict[str, dict[int, Any]] = field(default_factory=dict)
    #: extra checks of resolved options that depend on ndim; raise ValueError
    check: Callable[[dict[str, Any], int], Any] | None = None
    #: output activation of each plane from the resolved options and ndim; None: one per kind
    #: (binary: sigmoid; regression: sigmoid when normalised, else softplus)
    activations: Callable[[dict[str, Any], int], list[str]] | None = None
    #: rank of the channel as the watershed's foreground (surface and growth mask): lower wins
    foreground_rank: int | None = None
    #: planes that are vectors along a spatial axis (negative index): a flip negates them
    vector_axes: dict[str, int] = field(default_factory=dict)
    #: quarter turns in Y-X exchange a Y plane with an X plane: {Y plane: (X plane, is a vector)}
    rotation_partners: dict[str, tuple[str, bool]] = field(default_factory=dict)
    #: whether flips and rotations act plane by plane (not so for ray directions, neighbour
    #: offsets): test-time augmentation needs it
    equivariant: bool = True
    #: whether augmented patches are encoded again from their transformed labels (instance
    #: centres, rays, neighbour offsets)
    reencode: bool = False
    #: whether it must be the only channel (A, E), needs 3D (Z), needs one of these codes beside it
    alone: bool = False
    needs_3d: bool = False
    needs_one_of: tuple[str, ...] = ()
    #: codes that must all be beside it (a flow's other in-plane component)
    needs_all: tuple[str, ...] = ()
    #: a regression learnt with the squared error instead of L1 (BiaPy's MSE for flows)
    squared: bool = False
    #: integer options that may also be one per axis (BiaPy's erosion and dilation lists)
    per_axis: tuple[str, ...] = ()
    #: whether a plane name belongs to this code (default: the name is the code)
    owns_plane: Callable[[str], bool] | None = None

    def planes(self, options: dict[str, Any], ndim: int) -> list[str]:
        """Names of this code's output planes, in order (the code itself when it has one plane)."""
        return self.plane_names(options, ndim) if self.plane_names else [self.code]

    def plane_activations(self, options: dict[str, Any], ndim: int) -> list[str]:
        """Output activation of each plane (train and predict agree)."""
        if self.activations is not None:
            return self.activations(options, ndim)
        if self.kind == "binary":
            activation = "sigmoid"
        else:
            activation = "sigmoid" if options.get("norm") else "softplus"
        return [activation] * len(self.planes(options, ndim))

    def resolve_options(self, options: dict[str, Any], ndim: str | int = 2) -> dict[str, Any]:
        """Defaults completed with ``options``; unknown names and bad values raise ValueError."""
        unknown = sorted(set(options) - set(self.defaults))
        if unknown:
            raise ValueError(
                f"unknown option(s) {unknown} for channel {self.code}; valid: "
                f"{sorted(self.defaults)}"
            )
        resolved = {**self.defaults, **options}
        dims = {"2D": 2, "3D": 3}.get(ndim, ndim) if isinstance(ndim, str) else int(ndim)
        for name, by_ndim in self.ndim_defaults.items():
            if resolved[name] is None:
                resolved[name] = by_ndim[dims]
        for name, allowed in self.choices.items():
            if resolved[name] not in allowed:
                raise ValueError(
                    f"option {name!r} of channel {self.code} must be one of {list(allowed)}, got "
                    f"{resolved[name]!r}"
                )
        for name, default in self.defaults.items():
            value = resolved[name]
            if name in self.per_axis and isinstance(value, list | tuple):
                counts = dims not in (2, 3) or len(value) == dims
                radii = all(
                    isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
                )
                if not (counts and radii):
                    raise ValueError(
                        f"option {name!r} of channel {self.code} must be a non-negative integer "
                        f"or one per axis ({dims}), got {value!r}"
                    )
                resolved[name] = list(value)
                continue
            if isinstance(default, bool) and not isinstance(value, bool):
                raise ValueError(
                    f"option {name!r} of channel {self.code} must be true or false, got {value!r}"
                )
            if (
                isinstance(default, int)
                and not isinstance(default, bool)
                and (not isinstance(value, int) or isinstance(value, bool) or value < 0)
            ):
                raise ValueError(
                    f"option {name!r} of channel {self.code} must be a non-negative integer, got "
                    f"{value!r}"
                )
            if isinstance(default, float) and not isinstance(value, (int, float)):
                raise ValueError(
                    f"option {name!r} of channel {self.code} must be a number, got {value!r}"
                )
        if self.check is not None and dims in (2, 3):
            self.check(resolved, dims)
        return resolved

    def masked(self, options: dict[str, Any]) -> bool:
        """Whether the regression loss is computed on instance pixels only."""
        return bool(options.get("mask_values", False))

    def __call__(self, labels: np.ndarray, **options: Any) -> np.ndarray:
        return self.encode_planes(labels, **options).astype(np.float32, copy=False)

    def encode_planes(self, labels: np.ndarray, **options: Any) -> np.ndarray:
        """The planes (P, [Z,] Y, X) in the encoder's own dtype (bool for binary channels)."""
        resolved = self.resolve_options(options, labels.ndim)
        return self.function(labels, **resolved).reshape((-1,) + labels.shape)


#: H, V and Z's output activation: "" is tanh for normalised offsets, else linear (BiaPy
#: 3.7.1's check writes "linear" for its own default)
OFFSET_ACTIVATIONS = ("", "tanh", "linear")


def offset_activation(options: dict[str, Any], ndim: int) -> list[str]:
    """The activation of an H, V or Z plane from its options."""
    return [options["act"] or ("tanh" if options["norm"] else "linear")]


ENCODERS: dict[str, Encoder] = {
    "F": Encoder(
        "F",
        binary.encode_foreground,
        "binary",
        {"erosion": 0, "dilation": 0},
        foreground_rank=0,
        per_axis=("erosion", "dilation"),
    ),
    "B": Encoder(
        "B",
        binary.encode_background,
        "binary",
        {"erosion": 0, "dilation": 0},
        polarity="below",
        foreground_rank=3,
        per_axis=("erosion", "dilation"),
    ),
    "P": Encoder(
        "P",
        binary.encode_center_points,
        "binary",
        {"type": "centroid", "skeleton_mode": "full", "dilation": 1, "erosion": 0},
        {"type": ("centroid", "skeleton"), "skeleton_mode": ("full", "main")},
        foreground_rank=6,
        per_axis=("erosion", "dilation"),
    ),
    "C": Encoder(
        "C",
        binary.encode_contour,
        "binary",
        {"mode": "thick"},
        {"mode": ("thick", "inner", "outer", "subpixel", "dense")},
        polarity="below",
    ),
    "T": Encoder("T", binary.encode_touching, "binary", {"thickness": 2}, polarity="below"),
    "Db": Encoder(
        "Db",
        distance.encode_distance_to_boundary,
        "regression",
        {"norm": True, "mask_values": True, "act": "", "background": 0.0},
        {"act": ("", "sigmoid", "linear")},
        foreground_rank=2,
        # "": sigmoid for normalised distances, softplus for others, linear below 0 (BiaPy
        # 3.7.1: sigmoid, linear)
        activations=lambda o, ndim: [
            o["act"]
            or ("sigmoid" if o["norm"] else "linear" if o["background"] < 0 else "softplus")
        ],
    ),
    "Dc": Encoder(
        "Dc",
        distance.encode_distance_to_center,
        "regression",
        {"type": "centroid", "norm": True, "mask_values": True},
        {"type": ("centroid", "skeleton")},
        polarity="below",
        foreground_rank=4,
    ),
    "Dn": Encoder(
        "Dn",
        distance.encode_distance_to_neighbours,
        "regression",
        {"closing_size": 3, "norm": True, "mask_values": True, "decline_power": 3},
        polarity="below",
        foreground_rank=5,
    ),
    "D": Encoder(
        "D",
        distance.encode_signed_distance,
        "regression",
        {"act": "tanh", "alpha": 1.0, "beta": 1.0, "norm": True},
        {"act": ("tanh", "linear")},
        foreground_rank=1,
        activations=lambda o, ndim: ["tanh" if o["act"] == "tanh" else "linear"],
    ),
    "H": Encoder(
        "H",
        distance.encode_offset_x,
        "regression",
        {"norm": True, "mask_values": True, "act": ""},
        {"act": OFFSET_ACTIVATIONS},
        polarity="gradient",
        activations=offset_activation,
        vector_axes={"H": -1},
    ),
    "V": Encoder(
        "V",
        distance.encode_offset_y,
        "regression",
        {"norm": True, "mask_values": True, "act": ""},
        {"act": OFFSET_ACTIVATIONS},
        polarity="gradient",
        activations=offset_activation,
        vector_axes={"V": -2},
        rotation_partners={"V": ("H", True)},
    ),
    "Z": Encoder(
        "Z",
        distance.encode_offset_z,
        "regression",
        {"norm": True, "mask_values": True, "act": ""},
        {"act": OFFSET_ACTIVATIONS},
        polarity="gradient",
        activations=offset_activation,
        vector_axes={"Z": -3},
        needs_3d=True,
    ),
    **{
        code: Encoder(
            code,
            function,
            "regression",
            {"gradient_type": "cellpose"},
            {"gradient_type": flows.GRADIENT_TYPES},
            polarity="gradient",
            activations=lambda o, ndim: ["linear"],
            vector_axes={code: axis},
            rotation_partners={"Gv": ("Gh", True)} if code == "Gv" else {},
            needs_3d=code == "Gz",
            needs_one_of=("F", "B", "Db"),
            needs_all=("Gh", "Gv"),
            squared=True,
        )
        for code, function, axis in (
            ("Gh", flows.encode_flow_x, -1),
            ("Gv", flows.encode_flow_y, -2),
            ("Gz", flows.encode_flow_z, -3),
        )
    },
    "R": Encoder(
        "R",
        rays.encode_radial_distances,
        "regression",
        {"nrays": None, "anisotropy": None, "norm": False, "mask_values": True},
        plane_names=lambda o, ndim: [
            f"R{k}" for k in range(int(o["nrays"] or rays.DEFAULT_RAYS[ndim]))
        ],
        ndim_defaults={"nrays": rays.DEFAULT_RAYS},
        check=lambda o, ndim: rays.check_ray_options(o, ndim),
        activations=lambda o, ndim: ["softplus"] * int(o["nrays"] or rays.DEFAULT_RAYS[ndim]),
        equivariant=False,
        reencode=True,
        needs_one_of=("Db", "F"),
        owns_plane=lambda name: name[:1] == "R" and name[1:].isdigit(),
    ),
    "A": Encoder(
        "A",
        affinity.encode_affinities,
        "binary",
        {
            "neighborhood": None,
            "z_affinities": None,
            "y_affinities": None,
            "x_affinities": None,
            "widen_borders": 0,
        },
        plane_names=lambda o, ndim: affinity.affinity_plane_names(
            o["neighborhood"], ndim, **{k: o[k] for k in affinity.AXIS_LISTS}
        ),
        ndim_defaults={"neighborhood": affinity.DEFAULT_NEIGHBOURHOOD},
        check=lambda o, ndim: affinity.affinity_offsets(
            o["neighborhood"], ndim, **{k: o[k] for k in affinity.AXIS_LISTS}
        ),
        equivariant=False,
        reencode=True,
        alone=True,
        owns_plane=lambda name: name.startswith("A["),
    ),
    "E": Encoder(
        "E",
        embedding.encode_embedding,
        "embedding",
        {"center_mode": "centroid", "medoid_max_points": 10000},
        {"center_mode": ("centroid", "medoid")},
        plane_names=lambda o, ndim: embedding.embedding_plane_names(ndim),
        activations=lambda o, ndim: ["linear"] * ndim + ["softplus"] * ndim + ["sigmoid"],
        vector_axes={"E_offset_x": -1, "E_offset_y": -2, "E_offset_z": -3},
        rotation_partners={"E_offset_y": ("E_offset_x", True), "E_sigma_y": ("E_sigma_x", False)},
        reencode=True,
        alone=True,
        owns_plane=lambda name: name.startswith("E_"),
    ),
}


def plane_code(name: str) -> str:
    """The channel code a plane name belongs to ('R7' -> 'R', 'A[1,0]' -> 'A', 'E_sigma_x')."""
    if name in ENCODERS:
        return name
    for code, encoder in ENCODERS.items():
        if encoder.owns_plane is not None and encoder.owns_plane(name):
            return code
    raise ValueError(f"unknown channel plane {name!r}")


def register_encoder(encoder: Encoder) -> Encoder:
    """Add a channel code to the registry (its code must be new)."""
    if encoder.code in ENCODERS:
        raise ValueError(f"channel code {encoder.code!r} is already registered")
    ENCODERS[encoder.code] = encoder
    return encoder


def channel_planes(codes: list[str], extra_options: dict[str, dict], ndim: int) -> list[str]:
    """Plane names of ``codes`` in order (one per network output channel)."""
    return [
        name
        for c in codes
        for name in ENCODERS[c].planes(
            ENCODERS[c].resolve_options(extra_options.get(c, {}), ndim), ndim
        )
    ]


def check_combination(codes: list[str], ndim: int | None = None) -> None:
    """Raise ValueError for channel sets no decoder can use (``ndim``: also what needs 3D)."""
    if len(set(codes)) != len(codes):
        raise ValueError(f"channel codes repeat in {codes}")
    for code in codes:
        encoder = ENCODERS[code]
        if encoder.alone and len(codes) > 1:
            raise ValueError(f"channel {code} must be the only channel (got {codes})")
        if encoder.needs_one_of and not any(c in codes for c in encoder.needs_one_of):
            raise ValueError(
                f"channel {code} needs an object probability channel beside it, one of "
                f"{', '.join(encoder.needs_one_of)}, among {codes}"
            )
        missing = [c for c in encoder.needs_all if c not in codes]
        if missing:
            raise ValueError(f"channel {code} needs {', '.join(missing)} beside it, in {codes}")
        if encoder.needs_3d and ndim == 2:
            raise ValueError(f"channel {code} needs 3D data (PROBLEM.NDIM 3D)")


def encode_channels(
    labels: np.ndarray, codes: list[str], extra_options: dict[str, dict] | None = None
) -> np.ndarray:
    """Encode ``labels`` into the channels ``codes`` in order: (C, [Z,] Y, X) float32."""
    # channel values do not depend on the ids: sparse huge ids are renumbered so that
    # per-id tables stay as small as the instance count
    labels, _ = compact_ids(check_labels(labels))
    needs_3d = [c for c in codes if c in ENCODERS and ENCODERS[c].needs_3d]
    if labels.ndim == 2 and needs_3d:
        raise ValueError(f"channel {needs_3d[0]} needs 3D labels")
    extra_options = extra_options or {}
    unknown = [c for c in codes if c not in ENCODERS]
    if unknown:
        raise ValueError(f"unknown channel code(s) {unknown}; available: {', '.join(ENCODERS)}")
    planes = [ENCODERS[c].encode_planes(labels, **extra_options.get(c, {})) for c in codes]
    if len(planes) == 1:
        # R, E and A come alone and are float32 already: no copy of their many planes
        return planes[0].astype(np.float32, copy=False)
    # cast while concatenating: one pass over the output instead of a cast and a copy
    return np.concatenate(planes, axis=0, dtype=np.float32, casting="unsafe")
