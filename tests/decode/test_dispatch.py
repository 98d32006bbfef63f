"""decode_channels picks the decoder from the planes and reads its config section."""

import numpy as np
import pytest
from stardist.matching import matching

from stages.channels import channel_planes, encode_channels
from stages.commands.decode import settings_from_config
from stages.config import resolve_config
from stages.decode import decode_channels, decoder_for


def _section(**instance_seg):
    config, _ = resolve_config({"PROBLEM": {"INSTANCE_SEG": instance_seg}})
    return settings_from_config(config).decoders


def test_decoder_follows_the_codes_and_must_fit_a_request():
    assert [decoder_for(c) for c in (["F", "C"], ["Db", "R"], ["E"], ["A"])] == [
        "watershed",
        "stardist",
        "embeddings",
        "watershed",
    ]
    with pytest.raises(ValueError, match="need 'watershed'"):
        decoder_for(["F", "C"], "embeddings")


def test_stardist_section_reaches_the_nms(mask2d):
    channels = encode_channels(mask2d, ["Db", "R"])
    planes = channel_planes(["Db", "R"], {}, 2)
    decoded = decode_channels(
        channels,
        planes,
        _section(
            DATA_CHANNELS=["Db", "R"], STARDIST={"NMS_OVERLAP": "smaller", "PROB_THRESH": 0.5}
        ),
    )
    assert (
        decoded.decoder == "stardist"
        and decoded.settings["overlap"] == "smaller"
        and decoded.settings["prob_thresh"] == 0.5
    )
    assert (
        decode_channels(channels, planes, _section(DATA_CHANNELS=["Db", "R"])).settings["overlap"]
        == "union"
    )  # auto in 2D
    assert matching(mask2d, decoded.labels, 0.5).f1 >= 0.99


def test_embedseg_section_reaches_the_clustering(mask2d):
    channels = encode_channels(mask2d, ["E"])
    planes = channel_planes(["E"], {}, 2)
    sizes = np.bincount(mask2d.ravel())[1:]
    small = _section(DATA_CHANNELS=["E"], EMBEDSEG={"MIN_OBJECT_SIZE": 0})
    default = _section(DATA_CHANNELS=["E"])  # MIN_OBJECT_SIZE 100
    assert decode_channels(channels, planes, small).labels.max() == (sizes > 0).sum()
    assert decode_channels(channels, planes, default).labels.max() == (sizes > 100).sum()


def test_a_class_head_gives_each_decoded_instance_its_majority_class(mask2d):
    from stages.channels import encode_channels
    from stages.decode import decode_channels, split_class_planes

    labels = mask2d[:128, :128]
    channels = encode_channels(labels, ["F", "C"])
    truth = ((labels % 2) + 1) * (labels > 0)
    probabilities = np.stack([truth == k for k in range(3)]).astype(np.float32)
    planes = ["F", "C", "class 0", "class 1", "class 2"]
    stacked = np.concatenate([channels, probabilities])
    kept, kept_planes, class_map = split_class_planes(stacked, planes)
    assert kept_planes == ["F", "C"] and kept.shape[0] == 2
    np.testing.assert_array_equal(class_map, truth)
    decoded = decode_channels(stacked, planes)
    plain = decode_channels(channels, ["F", "C"])
    np.testing.assert_array_equal(decoded.labels, plain.labels)
    assert plain.classes is None
    # every decoded instance carries one class, the one of the nucleus it covers most
    inside = decoded.labels > 0
    assert not decoded.classes[~inside].any()
    agree = np.mean(decoded.classes[inside] == truth[inside])
    assert agree > 0.95
