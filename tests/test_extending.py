"""Adding a channel and a decoder is one registry line each (docs/extending.md).

The toy channel goes through encoding, the training loop (one step), prediction and the
toy decoder without any other change to segpipe.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from stages.channels import ENCODERS, Encoder, channel_planes, encode_channels, register_encoder
from stages.decode import DECODERS, Decoded, Decoder, decode_channels, register_decoder
from stages.nn.layout import channel_layout


def encode_inside(labels: np.ndarray) -> np.ndarray:
    """Toy channel: 1 on instance pixels."""
    return labels > 0


@dataclass(frozen=True)
class ThresholdSettings:
    threshold: float = 0.5


def decode_by_components(channels, planes, settings: ThresholdSettings, channel_options):
    from scipy import ndimage as ndi

    labels, _ = ndi.label(channels[planes.index("Q")] > settings.threshold)
    return Decoded(labels.astype(np.uint32), "components", {"threshold": settings.threshold})


@pytest.fixture
def toy_registries():
    register_encoder(Encoder("Q", encode_inside, "binary"))
    register_decoder(Decoder("components", ("Q",), "TOY", ThresholdSettings, decode_by_components))
    yield
    del ENCODERS["Q"], DECODERS["components"]


def test_a_toy_channel_and_decoder_run_through_encode_layout_and_decode(toy_registries, mask2d):
    channels = encode_channels(mask2d, ["Q"])
    assert channels.dtype == np.float32 and channels.sum() == (mask2d > 0).sum()
    layout = channel_layout(["Q"], {}, 2)
    assert layout.activations == ("sigmoid",) and not layout.reencode
    planes = channel_planes(["Q"], {}, 2)
    decoded = decode_channels(channels, planes, {"components": ThresholdSettings(0.5)})
    assert decoded.decoder == "components"
    from scipy import ndimage as ndi

    assert decoded.labels.max() == ndi.label(mask2d > 0)[1]
    with pytest.raises(ValueError, match="already registered"):
        register_encoder(Encoder("Q", encode_inside, "binary"))


def test_a_toy_channel_trains_one_step_and_its_prediction_decodes(toy_registries, mask2d, img2d):
    import torch

    from stages.nn.data import Sample
    from stages.nn.model import build_model
    from stages.nn.outputs import model_card
    from stages.nn.patches import blend_cores, patch_grid
    from stages.nn.predict import predict_cores
    from stages.nn.settings import ModelSpec, TrainSettings
    from stages.nn.train import train_network

    torch.set_num_threads(1)
    labels = mask2d[:64, :64]
    image = ((img2d[:64, :64] - img2d.mean()) / img2d.std()).astype(np.float32)
    settings = TrainSettings(
        codes=("Q",),
        channel_options={},
        model=ModelSpec(ndim=2, in_channels=1, out_channels=1, feature_maps=(4, 8)),
        patch=(32, 32),
        batch_size=2,
        epochs=1,
        val_split=0.25,  # one of the four 32x32 cells
        lr=1e-3,
    )
    sample = Sample(
        image=image[np.newaxis], targets=encode_channels(labels, ["Q"]), foreground=labels > 0
    )
    outcome = train_network([sample], None, settings, progress=False)
    assert outcome.epochs == 1 and np.isfinite(outcome.history[0]["train_loss"])
    # the weights moved: one optimiser step on the toy channel's loss
    untrained = build_model(settings.model).state_dict()
    assert any(
        not torch.equal(untrained[name], tensor)
        for name, tensor in outcome.last_weights.items()
        if tensor.is_floating_point()
    )
    # the image is normalised already: mean 0 and std 1 leave it as it is
    normalization = {"type": "zero_mean_unit_variance", "perc_clip": False, "mean": 0.0, "std": 1.0}
    card = model_card(settings, outcome, normalization, seed=0).to_meta()
    assert card["channels"] == ["Q"] and card["activations"] == ["sigmoid"]
    network = build_model(settings.model)
    network.load_state_dict(outcome.best_weights)
    network.eval()
    grid = patch_grid(labels.shape, (32, 32), (4, 4), (0.0, 0.0))
    cores = predict_cores(network, card, image[..., np.newaxis], grid, range(len(grid)))
    starts = np.array([grid.starts[i] for i in range(len(grid))])
    channels = blend_cores(cores, starts, labels.shape, grid.core_size, (0.0, 0.0))
    assert channels.shape == (1, 64, 64) and 0 <= channels.min() <= channels.max() <= 1
    decoded = decode_channels(channels, ["Q"], {"components": ThresholdSettings(0.5)})
    assert decoded.decoder == "components" and decoded.labels.shape == labels.shape
