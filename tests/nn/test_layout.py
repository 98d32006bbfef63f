import numpy as np
import pytest
import torch

from stages.channels import encode_channels
from stages.nn.layout import channel_layout
from stages.nn.losses import code_losses, embedseg_loss, lovasz_hinge


def test_layout_of_multi_plane_codes():
    layout = channel_layout(["Db", "R"], {"R": {"nrays": 8}}, 2)
    assert layout.planes == ("Db",) + tuple(f"R{k}" for k in range(8))
    assert layout.activations == ("sigmoid",) + ("softplus",) * 8
    assert [p.outputs for p in layout.parts] == [slice(0, 1), slice(1, 9)] and layout.reencode
    embedding = channel_layout(["E"], {}, 3)
    assert len(embedding.planes) == 7 and embedding.parts[0].targets == slice(0, 8)
    assert not channel_layout(["F", "C"], {}, 2).reencode


def test_training_targets_put_ids_before_the_embedding(mask2d):
    layout = channel_layout(["E"], {}, 2)
    targets = layout.training_targets(mask2d[:64, :64])
    np.testing.assert_array_equal(targets[0], mask2d[:64, :64])
    np.testing.assert_array_equal(targets[1:], encode_channels(mask2d[:64, :64], ["E"]))


def test_lovasz_hinge_is_zero_for_a_confident_right_answer():
    truth = torch.tensor([1.0, 1.0, 0.0, 0.0])
    assert lovasz_hinge(torch.tensor([1.0, 1.0, -1.0, -1.0]), truth).item() == pytest.approx(0.0)
    assert lovasz_hinge(torch.tensor([-1.0, -1.0, 1.0, 1.0]), truth).item() > 1.0


def test_embedseg_loss_prefers_the_true_embedding(mask2d):
    labels = mask2d[:64, :64]
    layout = channel_layout(["E"], {}, 2)
    targets = torch.from_numpy(layout.training_targets(labels))[None]
    perfect = targets[:, 1:].clone()
    perfect[:, 2:4] = 3.0  # a bandwidth that holds each instance, not its neighbours
    wrong = perfect.clone()
    wrong[:, :2] = 0.0  # every pixel embeds where it is: instances are not gathered
    assert embedseg_loss(perfect, targets).item() < 0.5 * embedseg_loss(wrong, targets).item()
    perfect.requires_grad_(True)
    embedseg_loss(perfect, targets).backward()
    assert torch.isfinite(perfect.grad).all()


def test_code_losses_one_per_code(mask2d):
    labels = mask2d[256:288, 256:288]
    assert labels.max() > 0
    layout = channel_layout(["Db", "R"], {"R": {"nrays": 8}}, 2)
    targets = torch.from_numpy(layout.training_targets(labels))[None]
    logits = torch.zeros((1, len(layout.planes), 32, 32))
    losses = code_losses(logits, targets, torch.from_numpy(labels > 0)[None], layout)
    assert losses.shape == (2,) and (losses > 0).all()


def test_a_class_head_is_softmax_planes_and_one_cross_entropy_target(mask2d):
    from stages.nn.activations import apply_activations

    layout = channel_layout(["F", "C"], {}, 2, n_classes=3)
    assert layout.planes == ("F", "C", "class 0", "class 1", "class 2")
    assert layout.activations[2:] == ("softmax",) * 3 and layout.class_planes == 3
    labels = mask2d[:64, :64]
    classes = ((labels % 2) + 1) * (labels > 0)
    targets = layout.training_targets(labels, classes)
    assert targets.shape == (3, 64, 64)
    np.testing.assert_array_equal(targets[2], classes)
    with pytest.raises(ValueError, match="class channel"):
        layout.training_targets(labels)
    with pytest.raises(ValueError, match="class id 3 found, but DATA.N_CLASSES is 3"):
        layout.training_targets(labels, classes + 1)
    logits = torch.randn(2, 5, 64, 64)
    activated = apply_activations(logits, layout.activations)
    torch.testing.assert_close(activated[:, 2:].sum(1), torch.ones(2, 64, 64))
    torch.testing.assert_close(activated[:, 0], torch.sigmoid(logits[:, 0]))
    batch = torch.from_numpy(np.stack([targets, targets]))
    foreground = batch[:, 0] > 0
    losses = code_losses(logits, batch, foreground, layout)
    expected = torch.nn.functional.cross_entropy(logits[:, 2:], batch[:, 2].long())
    assert losses.shape == (3,) and torch.isclose(losses[2], expected)
    weights = torch.tensor([0.1, 1.0, 2.0])
    weighted = code_losses(logits, batch, foreground, layout, class_weights=weights)
    expected = torch.nn.functional.cross_entropy(logits[:, 2:], batch[:, 2].long(), weight=weights)
    assert torch.isclose(weighted[2], expected) and torch.equal(weighted[:2], losses[:2])
    # two classes: no head
    assert channel_layout(["F", "C"], {}, 2, n_classes=2).planes == ("F", "C")


def test_flows_are_linear_and_learnt_with_the_squared_error_on_every_pixel(mask2d):
    labels = mask2d[256:288, 256:288]
    layout = channel_layout(["F", "Gh", "Gv"], {}, 2)
    assert layout.activations == ("sigmoid", "linear", "linear")
    assert [(p.squared, p.masked) for p in layout.parts] == [(False, False)] + [(True, False)] * 2
    targets = torch.from_numpy(layout.training_targets(labels))[None]
    logits = targets.clone()
    logits[:, 1:] += 0.5  # off by 0.5 everywhere: squared error 0.25, L1 would give 0.5
    losses = code_losses(logits, targets, torch.from_numpy(labels > 0)[None], layout)
    assert losses[1:].tolist() == pytest.approx([0.25, 0.25])


def test_data_channels_losses_choose_a_regression_codes_error(mask2d):
    labels = mask2d[256:288, 256:288]
    own = channel_layout(["D", "C", "Gh", "Gv"], {}, 2)
    chosen = channel_layout(
        ["D", "C", "Gh", "Gv"], {}, 2, losses={"D": "mse", "C": "bce", "Gh": "l1", "Gv": "mae"}
    )
    assert [p.squared for p in own.parts] == [False, False, True, True]
    assert [p.squared for p in chosen.parts] == [True, False, False, False]
    targets = torch.from_numpy(chosen.training_targets(labels))[None]
    logits = targets.clone()
    logits[:, 0] = torch.atanh(targets[:, 0].clamp(-0.99, 0.99)) + 0.0  # D is tanh: exact
    logits[:, 2:] += 0.5
    losses = code_losses(logits, targets, torch.from_numpy(labels > 0)[None], chosen)
    assert losses[2:].tolist() == pytest.approx([0.5, 0.5])  # L1 now, not 0.25
