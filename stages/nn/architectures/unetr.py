"""UNETR (Hatamizadeh et al. 2022): a vision transformer encoder over image tokens whose
intermediate layers feed a convolutional decoder.

Sized by BiaPy's keys: VIT_TOKEN_SIZE (a power of two: the decoder has log2 of it levels),
VIT_EMBED_DIM, VIT_NUM_LAYERS, VIT_NUM_HEADS, VIT_MLP_RATIO, UNETR_VIT_NUM_FILTERS and
UNETR_VIT_HIDD_MULT (which transformer layers give skip connections). BiaPy's UNETR takes only
the training patch size; segpipe's takes any size that is a multiple of the token (padded to
one otherwise): the position embedding is a fixed sine-cosine one, computed for any grid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional

from ..settings import ModelSpec
from .blocks import ConvBlock, PaddedNetwork, conv_class, transposed_class
from .registry import register_architecture


class TransformerBlock(nn.Module):
    """Pre-norm transformer layer: multi-head self-attention and a GELU MLP, each residual."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float):
        super().__init__()
        if dim % heads:
            raise ValueError(f"the embedding size {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.norm_attention = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.projection = nn.Linear(dim, dim)
        self.norm_mlp = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, dim = x.shape
        qkv = self.qkv(self.norm_attention(x))
        q, k, v = qkv.reshape(batch, tokens, 3, self.heads, dim // self.heads).permute(
            2, 0, 3, 1, 4
        )
        attended = functional.scaled_dot_product_attention(q, k, v)
        x = x + self.projection(attended.transpose(1, 2).reshape(batch, tokens, dim))
        return x + self.mlp(self.norm_mlp(x))


def sincos_position_embedding(grid: Sequence[int], dim: int) -> torch.Tensor:
    """(prod(grid), dim) fixed embedding: sines and cosines of each axis' position at
    geometrically spaced frequencies, the axes sharing the dimensions (zeros fill the rest)."""
    per_axis = (dim // len(grid)) // 2 * 2
    frequencies = 1.0 / 10000 ** (
        torch.arange(per_axis // 2, dtype=torch.float64) / max(per_axis // 2, 1)
    )
    axes = torch.meshgrid(*[torch.arange(n, dtype=torch.float64) for n in grid], indexing="ij")
    parts = []
    for position in axes:
        angles = position.reshape(-1, 1) * frequencies
        parts += [torch.sin(angles), torch.cos(angles)]
    embedding = torch.cat(parts, dim=1)
    embedding = functional.pad(embedding, (0, dim - embedding.shape[1]))
    return embedding.float()


class UNETR(PaddedNetwork):
    def __init__(
        self,
        ndim: int,
        in_channels: int,
        out_channels: int,
        *,
        patch: Sequence[int],
        token_size: int = 16,
        embed_dim: int = 768,
        layers: int = 12,
        heads: int = 12,
        mlp_ratio: float = 4.0,
        num_filters: int = 16,
        hidden_mult: int = -1,
        norm: str = "in",
        activation: str = "elu",
        dropout: float = 0.0,
        kernel: int = 3,
    ):
        super().__init__()
        levels = int(math.log2(token_size)) if token_size >= 2 else 0
        if token_size < 2 or 2**levels != token_size:
            raise ValueError(f"MODEL.VIT_TOKEN_SIZE must be a power of two, got {token_size}")
        if hidden_mult <= 0:
            hidden_mult = max(1, layers // levels)
        if hidden_mult * (levels - 1) > layers:
            raise ValueError(
                f"MODEL.UNETR_VIT_HIDD_MULT {hidden_mult} takes skip connections from layers past "
                f"the {layers} of the transformer"
            )
        if not patch or any(p % token_size for p in patch):
            raise ValueError(
                f"UNETR needs a patch size that is a multiple of the token size {token_size}, "
                f"got {tuple(patch)}"
            )
        self.ndim, self.token_size, self.levels = ndim, token_size, levels
        self.multiple = (token_size,) * ndim
        self.skip_layers = [hidden_mult * level for level in range(1, levels)]
        self.grid = tuple(p // token_size for p in patch)
        self.embed = conv_class(ndim)(in_channels, embed_dim, token_size, stride=token_size)
        self.class_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        position = sincos_position_embedding(self.grid, embed_dim)
        self.position = nn.Parameter(
            torch.cat([torch.zeros(1, embed_dim), position])[None], requires_grad=False
        )
        self.blocks = nn.ModuleList(
            TransformerBlock(embed_dim, heads, mlp_ratio) for _ in range(layers)
        )
        transposed = transposed_class(ndim)
        common = {"kernel": kernel, "norm": norm, "activation": activation, "dropout": dropout}

        def up(c_in: int, c_out: int) -> nn.Module:
            return transposed(c_in, c_out, kernel_size=2, stride=2, bias=False)

        self.bottleneck = up(embed_dim, num_filters * 2 ** (levels - 1))
        self.skip_paths = nn.ModuleList()
        self.merges = nn.ModuleList()
        self.upsamplers = nn.ModuleList()
        for level in range(levels - 1, 0, -1):
            width = num_filters * 2**level
            path: list[nn.Module] = []
            c_in = embed_dim
            for _ in range(levels - level):
                path += [up(c_in, width), ConvBlock(ndim, width, width, convs=1, **common)]
                c_in = width
            self.skip_paths.append(nn.Sequential(*path))
            self.merges.append(ConvBlock(ndim, 2 * width, width, **common))
            self.upsamplers.append(up(width, num_filters * 2 ** (level - 1)))
        self.image_path = ConvBlock(ndim, in_channels, num_filters, **common)
        self.last_merge = ConvBlock(ndim, 2 * num_filters, num_filters, **common)
        self.head = conv_class(ndim)(num_filters, out_channels, 1)

    def position_embedding(self, grid: tuple[int, ...]) -> torch.Tensor:
        if grid == self.grid:
            return self.position[:, 1:]
        return sincos_position_embedding(grid, self.position.shape[-1]).to(self.position)[None]

    def tokens_to_volume(self, tokens: torch.Tensor, grid: tuple[int, ...]) -> torch.Tensor:
        return tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], *grid)

    def forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        image = x
        tokens = self.embed(x)
        grid = tuple(tokens.shape[2:])
        tokens = tokens.flatten(2).transpose(1, 2) + self.position_embedding(grid)
        tokens = torch.cat(
            [(self.class_token + self.position[:, :1]).expand(x.shape[0], -1, -1), tokens], dim=1
        )
        skips = []
        for index, block in enumerate(self.blocks):
            tokens = block(tokens)
            if index + 1 in self.skip_layers:
                skips.insert(0, tokens[:, 1:])
        x = self.bottleneck(self.tokens_to_volume(tokens[:, 1:], grid))
        for skip, path, merge, upsampler in zip(
            skips, self.skip_paths, self.merges, self.upsamplers
        ):
            x = upsampler(merge(torch.cat([x, path(self.tokens_to_volume(skip, grid))], dim=1)))
        return self.head(self.last_merge(torch.cat([self.image_path(image), x], dim=1)))


@register_architecture("unetr")
def build_unetr(spec: ModelSpec) -> nn.Module:
    return UNETR(
        spec.ndim,
        spec.in_channels,
        spec.out_channels,
        patch=spec.patch,
        token_size=spec.vit_token_size,
        embed_dim=spec.vit_embed_dim,
        layers=spec.vit_num_layers,
        heads=spec.vit_num_heads,
        mlp_ratio=spec.vit_mlp_ratio,
        num_filters=spec.unetr_num_filters,
        hidden_mult=spec.unetr_hidden_mult,
        norm=spec.norm,
        activation=spec.activation,
        dropout=spec.dropout[0] if spec.dropout else 0.0,
        kernel=spec.kernel,
    )
