"""HRNet built as BiaPy 3.7.1 builds it (the rest of its checks: test_architectures.py)."""

import torch


def test_layout_3_builds_biapys_residual_blocks_without_inner_activations():
    """BiaPy's HRNet blocks have no activation between their convolutions (only the ReLU after
    the residual sum); cards of layout 2 keep segpipe's earlier blocks, the same parameters."""
    from stages.nn.model import build_model

    card = {"ndim": 2, "in_channels": 1, "out_channels": 2, "architecture": "hrnet",
            "hrnet_variant": "custom", "hrnet_modules": [1], "hrnet_branches": [2],
            "hrnet_blocks": [[1, 1]], "hrnet_channels": [[4, 8]]}  # fmt: skip
    biapy_blocks, earlier = build_model(card | {"layout": 3}), build_model(card | {"layout": 2})
    first = biapy_blocks.layer1[0].body
    assert isinstance(first[1], torch.nn.Identity) and isinstance(first[3], torch.nn.Identity)
    assert not isinstance(earlier.layer1[0].body[1], torch.nn.Identity)
    branch = biapy_blocks.stages[0][0].branches[0][0].body
    assert isinstance(branch[1], torch.nn.Identity)
    earlier.load_state_dict(biapy_blocks.state_dict())  # the same tensors
    x = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(biapy_blocks.eval()(x), earlier.eval()(x))
