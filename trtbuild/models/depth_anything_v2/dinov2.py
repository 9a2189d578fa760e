"""DINOv2 ViT encoder in the layout used by Depth-Anything-V2 checkpoints.

Only the inference path is implemented: no xFormers, no register tokens, no
stochastic depth. Module and parameter names follow the released checkpoints
so that ``load_state_dict(strict=True)`` works on them unchanged.

Export note: DINOv2 resizes its 37x37 positional embedding with a bicubic
interpolation whenever the patch grid differs from the pretrained one. That
op is awkward for ONNX/TensorRT, so the resized table is computed once per
grid size, outside ``forward``, and kept in a non-persistent buffer; the
exported graph then only sees a constant.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

PATCH_SIZE = 14
PRETRAINED_GRID = 37  # pos_embed was trained at 518x518 -> 37x37 patches
POS_EMBED_OFFSET = 0.1  # DINOv2's interpolation offset (see resize_pos_embed)


def _is_tracing() -> bool:
    return torch.jit.is_tracing() or torch.compiler.is_compiling()


def static_dims(x: torch.Tensor, *dims: int) -> tuple[int, ...]:
    """Sizes of ``x`` along ``dims`` as plain ints.

    Only the batch is dynamic by design; spatial and token counts are static,
    so under the TorchScript tracer they are deliberately frozen into
    constants. That keeps Shape/Gather/Mod arithmetic out of the exported graph.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        return tuple(int(x.shape[d]) for d in dims)


def static_hw(x: torch.Tensor) -> tuple[int, int]:
    """Validated (H, W) of an image batch as plain ints."""
    return check_input_size(static_dims(x, -2, -1))


def check_input_size(size: int | tuple[int, int]) -> tuple[int, int]:
    """Normalise ``size`` to (H, W) and check that both are multiples of 14."""
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    if h <= 0 or w <= 0 or h % PATCH_SIZE or w % PATCH_SIZE:
        raise ValueError(
            f"input size {h}x{w} is not valid: height and width must be positive "
            f"multiples of the ViT patch size {PATCH_SIZE} (e.g. 518, 392)"
        )
    return int(h), int(w)


def resize_pos_embed(pos_embed: torch.Tensor, grid_h: int, grid_w: int) -> torch.Tensor:
    """Resample a (1, 1+S*S, D) positional table to a grid_h x grid_w patch grid.

    Mirrors DINOv2 exactly: bicubic, no antialias, and ``scale_factor=(g+0.1)/S``
    instead of ``size=g``. Both give g output cells, but the scale factor also
    sets the sampling step (S/(g+0.1)), so using ``size`` would shift every
    sample slightly and no longer reproduce the original model.
    """
    cls_pos, patch_pos = pos_embed[:, :1], pos_embed[:, 1:]
    side = round(patch_pos.shape[1] ** 0.5)
    if (grid_h, grid_w) == (side, side):
        return pos_embed
    dim = patch_pos.shape[-1]
    table = patch_pos.float().reshape(1, side, side, dim).permute(0, 3, 1, 2)
    table = F.interpolate(
        table,
        scale_factor=((grid_h + POS_EMBED_OFFSET) / side, (grid_w + POS_EMBED_OFFSET) / side),
        mode="bicubic",
        align_corners=False,
        antialias=False,
    )
    assert table.shape[-2:] == (grid_h, grid_w), table.shape
    table = table.permute(0, 2, 3, 1).reshape(1, grid_h * grid_w, dim)
    return torch.cat((cls_pos.float(), table), dim=1).to(pos_embed.dtype)


class PatchEmbed(nn.Module):
    def __init__(self, dim: int, in_chans: int = 3) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=PATCH_SIZE, stride=PATCH_SIZE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, N, D), row-major patches


class Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.dim, self.num_heads = dim, num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (n,) = static_dims(x, 1)
        # (B, N, 3D) -> 3 x (B, heads, N, head_dim); -1 keeps only the batch dynamic.
        qkv = self.qkv(x).reshape(-1, n, 3, self.num_heads, self.dim // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        if torch.onnx.is_in_onnx_export():
            # Plain matmul/softmax in DINOv2's order (scale q first): exports at any opset
            # as MatMul-Softmax-MatMul, which TensorRT fuses into its MHA kernels.
            out = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1) @ v
        else:  # PyTorch's fused kernel, without the (heads, N, N) matrix: the network at 518 on 2 CPU cores,
            # 843 ms against 1359 ms (benchmarks/results/depth_torch_attention_cpu.json)
            out = F.scaled_dot_product_attention(q, k, v, scale=self.scale)
        return self.proj(out.transpose(1, 2).reshape(-1, n, self.dim))


class LayerScale(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class SwiGLUFFN(nn.Module):
    """ViT-g feed-forward; hidden width rounded as in DINOv2 (2/3 of 4*D, to a multiple of 8)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        hidden = (int(hidden * 2 / 3) + 7) // 8 * 8
        self.w12 = nn.Linear(dim, 2 * hidden)
        self.w3 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = self.w12(x).chunk(2, dim=-1)
        return self.w3(F.silu(x1) * x2)


class Block(nn.Module):
    def __init__(self, dim: int, num_heads: int, ffn: str = "mlp", mlp_ratio: int = 4) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.ls1 = LayerScale(dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = (SwiGLUFFN if ffn == "swiglu" else Mlp)(dim, dim * mlp_ratio)
        self.ls2 = LayerScale(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


def _refresh_after_load(module: DinoVisionTransformer, _incompatible_keys) -> None:
    module._refresh_pos_embed()  # module-level (not a lambda) so the model stays picklable


class DinoVisionTransformer(nn.Module):
    """DINOv2 ViT with patch 14, one cls token and LayerScale blocks.

    ``input_size`` fixes the (H, W) whose positional table is precomputed; call
    :meth:`prepare_for_size` to change it. In eager mode a different input size
    is prepared on the fly; under tracing/export it must already be prepared.
    """

    def __init__(
        self,
        embed_dim: int,
        depth: int,
        num_heads: int,
        ffn: str = "mlp",
        input_size: int | tuple[int, int] = 518,
    ) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.patch_embed = PatchEmbed(embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, PRETRAINED_GRID**2 + 1, embed_dim))
        # Unused at inference (masked-image training only); kept so checkpoints load strictly.
        self.mask_token = nn.Parameter(torch.zeros(1, embed_dim))
        self.blocks = nn.ModuleList(Block(embed_dim, num_heads, ffn) for _ in range(depth))
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)

        # Resized positional table for the prepared grid; derived data, so not saved.
        self.register_buffer("pos_embed_resized", torch.empty(0), persistent=False)
        self._cache_key: tuple[int, int, int] | None = None
        self.grid_size = (PRETRAINED_GRID, PRETRAINED_GRID)
        # A checkpoint load changes pos_embed, so refresh the cached table right after it.
        self.register_load_state_dict_post_hook(_refresh_after_load)
        self.prepare_for_size(input_size)

    @property
    def input_size(self) -> tuple[int, int]:
        return self.grid_size[0] * PATCH_SIZE, self.grid_size[1] * PATCH_SIZE

    @torch.no_grad()
    def prepare_for_size(self, size: int | tuple[int, int]) -> None:
        """Precompute the positional table for input ``size`` (int or (H, W))."""
        h, w = check_input_size(size)
        self.grid_size = (h // PATCH_SIZE, w // PATCH_SIZE)
        self._refresh_pos_embed()

    @torch.no_grad()
    def _refresh_pos_embed(self) -> None:
        gh, gw = self.grid_size
        if (gh, gw) == (PRETRAINED_GRID, PRETRAINED_GRID):
            # Identity case: forward uses the parameter itself, nothing to cache.
            self.pos_embed_resized = torch.empty(0, device=self.pos_embed.device)
        else:
            self.pos_embed_resized = resize_pos_embed(self.pos_embed.detach(), gh, gw)
        self._cache_key = (gh, gw, self.pos_embed._version)

    def _pos_embed_for(self, gh: int, gw: int) -> torch.Tensor:
        if (gh, gw) == (PRETRAINED_GRID, PRETRAINED_GRID):
            return self.pos_embed
        if _is_tracing():
            # Never trace the bicubic resize: it would land in the exported graph.
            if self._cache_key is None or self._cache_key[:2] != (gh, gw):
                raise ValueError(
                    f"input grid {gh}x{gw} was not prepared; call "
                    f"prepare_for_size(({gh * PATCH_SIZE}, {gw * PATCH_SIZE})) before export"
                )
        elif self._cache_key != (gh, gw, self.pos_embed._version):
            self.prepare_for_size((gh * PATCH_SIZE, gw * PATCH_SIZE))
        return self.pos_embed_resized

    def prepare_tokens(self, x: torch.Tensor) -> torch.Tensor:
        gh, gw = (s // PATCH_SIZE for s in static_hw(x))
        tokens = self.patch_embed(x)
        tokens = torch.cat((self.cls_token.expand(tokens.shape[0], -1, -1), tokens), dim=1)
        return tokens + self._pos_embed_for(gh, gw)

    def get_intermediate_layers(
        self, x: torch.Tensor, indices: list[int] | tuple[int, ...]
    ) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
        """Final-norm'd outputs of blocks ``indices`` as (patch_tokens (B,N,D), cls_token (B,D))."""
        wanted = set(indices)
        tokens = self.prepare_tokens(x)
        outputs = []
        for i, block in enumerate(self.blocks[: max(indices) + 1]):  # later blocks are unused
            tokens = block(tokens)
            if i in wanted:
                outputs.append(self.norm(tokens))
        return tuple((out[:, 1:], out[:, 0]) for out in outputs)
