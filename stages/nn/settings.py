"""Settings of the network and its training as plain frozen dataclasses (no torch import).

The train command builds them from the config; the rules may build them while the
workflow is parsed, so this module stays light.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .augment.settings import AugmentSettings
from .sample_filter import SampleFilter


def _as_lists(value):
    return [_as_lists(v) for v in value] if isinstance(value, (tuple, list)) else value


def _as_tuples(value):
    return tuple(_as_tuples(v) for v in value) if isinstance(value, (tuple, list)) else value


@dataclass(frozen=True)
class ModelSpec:
    """Everything that shapes a network (BiaPy's MODEL keys as plain values)."""

    ndim: int
    in_channels: int
    out_channels: int
    architecture: str = "unet"
    feature_maps: tuple[int, ...] = (16, 32, 64, 128, 256)
    norm: str = "in"
    activation: str = "elu"
    dropout: tuple[float, ...] = ()
    upsample: str = "convtranspose"
    kernel: int = 3
    z_down: tuple[int, ...] = ()
    yx_down: tuple[int, ...] = ()  # per pooling; empty: 2
    larger_io: bool = False
    isotropy: tuple[bool, ...] = ()  # per level; empty: all isotropic
    conv_layers: tuple[int, ...] = ()  # convolutions (U-NeXt: ConvNeXt blocks) per level; empty: 2
    conv_block_order: str = "conv_norm_act"  # or norm_act_conv (pre-activation)
    patch: tuple[int, ...] = ()  # spatial training patch: UNETR's token grid
    vit_token_size: int = 16
    vit_embed_dim: int = 768
    vit_num_layers: int = 12
    vit_num_heads: int = 12
    vit_mlp_ratio: float = 4.0
    unetr_num_filters: int = 16
    unetr_hidden_mult: int = -1  # <= 0: the transformer's layers spread over the decoder levels
    convnext_sd_prob: float = 0.1
    convnext_layer_scale: float = 1e-6
    convnext_stem_kernel: int = 2
    hrnet_variant: str = "W48"  # W18, W32, W48, W64 or custom (the hrnet_* shape below)
    hrnet_modules: tuple[int, ...] = (1, 4, 3)
    hrnet_branches: tuple[int, ...] = (2, 3, 4)
    hrnet_blocks: tuple[tuple[int, ...], ...] = ((4, 4), (4, 4, 4), (4, 4, 4, 4))
    hrnet_channels: tuple[tuple[int, ...], ...] = ((18, 36), (18, 36, 72), (18, 36, 72, 144))
    hrnet_block_type: str = "BASIC"
    hrnet_z_down: tuple[int, ...] = ()
    hrnet_yx_down: tuple[int, ...] = ()
    hrnet_head: str = "FCN"  # FCN, ASPP, PSP or OCR
    stunet_variant: str = "base"  # small, base, large or custom (the stunet_* shape below)
    stunet_depth: tuple[int, ...] = (1, 1, 1, 1, 1, 1)
    stunet_dims: tuple[int, ...] = (32, 64, 128, 256, 512, 512)
    stunet_pools: tuple[tuple[int, ...], ...] = ()  # empty: four 2s and a 1 per axis
    stunet_kernels: tuple[tuple[int, ...], ...] = ()  # empty: 3 per axis at every stage
    #: 3: built as BiaPy 3.7.1 builds it, the U-Net family's decoders concatenating the
    #: upsampled features before the skip connection and HRNet's residual blocks without an
    #: activation between their convs (so BiaPy's weights load: `segpipe import-biapy`); 2:
    #: segpipe's earlier order and blocks (cards written before 2026-12-04); 1: segpipe's first
    #: U-Net (cards written before the layout was recorded)
    layout: int = 3

    def as_dict(self) -> dict:
        """The spec as plain JSON values (tuples, nested ones too, as lists)."""
        return {k: _as_lists(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, spec: dict) -> ModelSpec:
        """A spec from a model card (cards written before the registry name no architecture;
        those written before the layout was recorded are layout 1)."""
        known = {f.name for f in fields(cls)}
        values = {k: _as_tuples(v) for k, v in spec.items() if k in known}
        values.setdefault("layout", 1)  # a card without a layout predates BiaPy's
        return cls(**values)


@dataclass(frozen=True)
class TrainSettings:
    """How to train: the channels to learn, the patches, the optimiser and its schedule.

    Built from the config by the train command; the loop reads nothing else.
    """

    codes: tuple[str, ...]
    channel_options: dict
    model: ModelSpec
    patch: tuple[int, ...]  # spatial patch size
    channel_weights: tuple[float, ...] = ()  # empty: 1 per code
    losses: tuple[str, ...] = ()  # per code (DATA_CHANNELS_LOSSES); empty: each code's own
    rebalance: bool = False
    n_classes: int = 2  # more: a class head (DATA.N_CLASSES, the background counted)
    class_weights: tuple[float, ...] = ()  # per class in the class head's loss; empty: equal
    batch_size: int = 6
    epochs: int = 100
    patience: int | None = None
    optimizer: str = "ADAMW"
    lr: float = 1e-4
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)  # ADAM and ADAMW's (TRAIN.OPT_BETAS)
    gradient_clip: float = 0.0  # the gradients' total norm clipped to this; 0: not clipped
    scheduler: str = ""  # warmupcosine, onecycle, reduceonplateau or empty (constant)
    warmup_epochs: int = 0
    min_lr: float = 0.0
    plateau_factor: float = 0.5
    plateau_patience: int = 10
    replicate: int = 1
    steps_per_epoch: int = 0  # 0: the training area drawn `replicate` times
    val_split: float = 0.1  # held out of the training images when no validation set is given
    cross_val: tuple[int, int] | None = None  # (folds, fold): the cells of that fold held out
    augment: AugmentSettings | None = None
    compile: bool = False  # torch.compile the network for training (MODEL.COMPILE)
    bf16: bool = False  # the forward pass under bfloat16 autocast (TRAIN.BF16)
    frozen_layers: tuple[str, ...] = ()  # regexes of parameter names not trained
    # FILTER_SAMPLES: training patches (and validation cells) left out by their properties
    train_filter: SampleFilter | None = None
    #: DATA.TRAIN.PROBABILITY_MAP: (foreground, background) shares of the patch centres
    center_weights: tuple[float, float] | None = None
    val_filter: SampleFilter | None = None
    # processes that make the training batches (SYSTEM.NUM_WORKERS); -1: as many as spare
    # CPUs on a GPU (at most 8), none on the CPU (stages.nn.batch_workers.worker_count)
    workers: int = -1
