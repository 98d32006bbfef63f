import dataclasses
import sys

import numpy as np
import pytest
import torch

import stages.nn.train
from stages.nn.prefetch import SWITCH_INTERVAL, draws_ahead, prefetched
from stages.nn.train import train_network

from .test_train import augmented_training

CPU = torch.device("cpu")


@pytest.mark.parametrize("background", [False, True])
def test_draws_come_in_order_and_no_more_than_asked(background):
    rng = np.random.default_rng(7)
    calls = []

    def draw():
        calls.append(len(calls))
        return (torch.from_numpy(rng.random(3)),)

    drawn = [t[0].numpy() for t in prefetched(draw, 5, CPU, background=background)]
    expected = np.random.default_rng(7).random((5, 3))
    np.testing.assert_array_equal(np.stack(drawn), expected)
    # the random state is left where five plain draws leave it
    assert calls == [0, 1, 2, 3, 4]
    assert rng.random() == np.random.default_rng(7).random(16)[15]
    assert list(prefetched(draw, 0, CPU, background=background)) == []


def test_a_failed_draw_is_raised_where_the_batch_is_used():
    def draw():
        raise ValueError("the patch sampler failed")

    with pytest.raises(ValueError, match="the patch sampler failed"):
        list(prefetched(draw, 3, CPU, background=True))


def test_the_thread_switch_interval_is_shortened_while_drawing_and_restored_after():
    before = sys.getswitchinterval()
    seen = []

    def draw():
        seen.append(sys.getswitchinterval())
        return (torch.zeros(1),)

    for _ in prefetched(draw, 3, CPU, background=True):
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)
    assert seen == pytest.approx([SWITCH_INTERVAL] * 3) and sys.getswitchinterval() == before
    with pytest.raises(ValueError):
        for _ in prefetched(draw, 3, CPU, background=True):
            raise ValueError("the step failed")
    assert sys.getswitchinterval() == before


def test_training_with_batches_drawn_in_a_thread_equals_training_in_turn(
    monkeypatch, mask2d, img2d
):
    """What runs on a GPU (the next batch drawn and augmented in a thread) trains the same
    network as the plain loop: same batches, same augmentations, same weights."""
    settings, samples = augmented_training(mask2d, img2d)
    settings = dataclasses.replace(settings, workers=0)  # in the training process, also on CUDA
    in_turn = train_network(samples, None, settings, progress=False)
    monkeypatch.setattr(stages.nn.train, "draws_ahead", lambda device, augmentations: True)
    in_thread = train_network(samples, None, settings, progress=False)
    assert [r["train_loss"] for r in in_thread.history] == [
        r["train_loss"] for r in in_turn.history
    ]
    for name, weight in in_turn.last_weights.items():
        torch.testing.assert_close(in_thread.last_weights[name], weight, rtol=0, atol=0)


def test_batches_are_drawn_ahead_on_a_gpu_when_their_augmentation_is_light():
    cuda = torch.device("cuda", 0)
    assert draws_ahead(cuda, 0) and draws_ahead(cuda, 1)
    assert not draws_ahead(cuda, 7) and not draws_ahead(CPU, 0)
