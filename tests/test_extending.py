"""Adding a channel and a decoder is one registry line each (README, "Extending segpipe")."""

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
