"""DPT depth head and the Depth-Anything-V2 model (relative depth).

Submodule names (``projects``, ``resize_layers``, ``scratch.layerN_rn``,
``scratch.refinenetN.resConfUnitM``, ``scratch.output_conv*``) follow the
released checkpoints, which is why some of them are not snake_case.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .dinov2 import PATCH_SIZE, DinoVisionTransformer, static_hw

# Per encoder: ViT shape, which blocks feed the head, and DPT head widths.
ENCODER_CONFIGS: dict[str, dict] = {
    "vits": dict(embed_dim=384, depth=12, num_heads=6, ffn="mlp",
                 layers=[2, 5, 8, 11], features=64, out_channels=[48, 96, 192, 384]),
    "vitb": dict(embed_dim=768, depth=12, num_heads=12, ffn="mlp",
                 layers=[2, 5, 8, 11], features=128, out_channels=[96, 192, 384, 768]),
    "vitl": dict(embed_dim=1024, depth=24, num_heads=16, ffn="mlp",
                 layers=[4, 11, 17, 23], features=256, out_channels=[256, 512, 1024, 1024]),
    "vitg": dict(embed_dim=1536, depth=40, num_heads=24, ffn="swiglu",
                 layers=[9, 19, 29, 39], features=384, out_channels=[1536, 1536, 1536, 1536]),
}


def _conv3x3(cin: int, cout: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, padding=1, bias=bias)


class ResidualConvUnit(nn.Module):
    def __init__(self, features: int) -> None:
        super().__init__()
        self.conv1 = _conv3x3(features, features)
        self.conv2 = _conv3x3(features, features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Pre-activation residual; ReLU is not in-place so the skip keeps the raw input.
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class FeatureFusionBlock(nn.Module):
    """Adds a (refined) skip feature, refines, upsamples to ``size``, projects."""

    def __init__(self, features: int) -> None:
        super().__init__()
        # resConfUnit1 exists even in refinenet4 (which has no skip input) so weights load.
        self.resConfUnit1 = ResidualConvUnit(features)
        self.resConfUnit2 = ResidualConvUnit(features)
        self.out_conv = nn.Conv2d(features, features, kernel_size=1)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None, size: tuple[int, int]) -> torch.Tensor:
        if skip is not None:
            x = x + self.resConfUnit1(skip)
        x = self.resConfUnit2(x)
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=True)
        return self.out_conv(x)


class DPTHead(nn.Module):
    """Turns four ViT token maps (all at 1/14 scale) into a 1-channel depth map.

    The maps are reassembled into a pyramid at 4x, 2x, 1x and 0.5x the patch
    grid, then fused coarse-to-fine by the refinenets.
    """

    def __init__(self, in_channels: int, features: int, out_channels: list[int]) -> None:
        super().__init__()
        self.projects = nn.ModuleList(nn.Conv2d(in_channels, c, kernel_size=1) for c in out_channels)
        c1, c2, _, c4 = out_channels
        self.resize_layers = nn.ModuleList([
            nn.ConvTranspose2d(c1, c1, kernel_size=4, stride=4),
            nn.ConvTranspose2d(c2, c2, kernel_size=2, stride=2),
            nn.Identity(),
            nn.Conv2d(c4, c4, kernel_size=3, stride=2, padding=1),
        ])
        self.scratch = nn.Module()  # plain container, kept for the checkpoint's key prefix
        for i, c in enumerate(out_channels, start=1):
            setattr(self.scratch, f"layer{i}_rn", _conv3x3(c, features, bias=False))
        for i in range(1, 5):
            setattr(self.scratch, f"refinenet{i}", FeatureFusionBlock(features))
        self.scratch.output_conv1 = _conv3x3(features, features // 2)
        self.scratch.output_conv2 = nn.Sequential(
            _conv3x3(features // 2, 32),
            nn.ReLU(),
            nn.Conv2d(32, 1, kernel_size=1),
            nn.ReLU(),  # depth is non-negative; the original's extra final ReLU is a no-op after this
        )

    def forward(self, tokens: list[torch.Tensor], grid: tuple[int, int]) -> torch.Tensor:
        gh, gw = grid
        s = self.scratch
        feats = []
        for x, project, resize, rn in zip(
            tokens, self.projects, self.resize_layers, (s.layer1_rn, s.layer2_rn, s.layer3_rn, s.layer4_rn)
        ):
            x = x.transpose(1, 2).reshape(-1, project.in_channels, gh, gw)  # (B, N, D) -> (B, D, gh, gw)
            feats.append(rn(resize(project(x))))
        f1, f2, f3, f4 = feats
        # Target sizes are Python ints from the static grid, so Resize gets constant sizes.
        path = s.refinenet4(f4, None, size=(gh, gw))
        path = s.refinenet3(path, f3, size=(2 * gh, 2 * gw))
        path = s.refinenet2(path, f2, size=(4 * gh, 4 * gw))
        path = s.refinenet1(path, f1, size=(8 * gh, 8 * gw))
        out = F.interpolate(
            s.output_conv1(path), size=(gh * PATCH_SIZE, gw * PATCH_SIZE), mode="bilinear", align_corners=True
        )
        return s.output_conv2(out)


class DepthAnythingV2(nn.Module):
    """Depth-Anything-V2: (B, 3, H, W) ImageNet-normalised float -> (B, H, W) relative depth.

    H and W must be multiples of 14. ``input_size`` is the size prepared for
    export (its positional table is precomputed); see :meth:`prepare_for_size`.
    """

    def __init__(self, encoder: str = "vits", input_size: int | tuple[int, int] = 518) -> None:
        super().__init__()
        if encoder not in ENCODER_CONFIGS:
            raise ValueError(f"unknown encoder {encoder!r}; expected one of {sorted(ENCODER_CONFIGS)}")
        cfg = ENCODER_CONFIGS[encoder]
        self.encoder = encoder
        self.layer_indices = list(cfg["layers"])
        self.pretrained = DinoVisionTransformer(
            cfg["embed_dim"], cfg["depth"], cfg["num_heads"], cfg["ffn"], input_size=input_size
        )
        self.depth_head = DPTHead(cfg["embed_dim"], cfg["features"], cfg["out_channels"])

    @property
    def input_size(self) -> tuple[int, int]:
        return self.pretrained.input_size

    def prepare_for_size(self, size: int | tuple[int, int]) -> DepthAnythingV2:
        """Precompute the positional table for ``size`` (int or (H, W)); call before export."""
        self.pretrained.prepare_for_size(size)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = static_hw(x)
        grid = (h // PATCH_SIZE, w // PATCH_SIZE)
        feats = self.pretrained.get_intermediate_layers(x, self.layer_indices)
        depth = self.depth_head([patch_tokens for patch_tokens, _cls in feats], grid)
        return depth.squeeze(1)


def build_depth_anything_v2(encoder: str = "vits", input_size: int | tuple[int, int] = 518) -> DepthAnythingV2:
    """Build an (untrained) model in eval mode; load weights with :func:`load_checkpoint`."""
    return DepthAnythingV2(encoder, input_size).eval()


def _preview(keys: list[str], n: int = 3) -> str:
    more = f" (+{len(keys) - n} more)" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more


def load_checkpoint(model: DepthAnythingV2, path: str | os.PathLike) -> DepthAnythingV2:
    """Strictly load an original-format ``torch.save(state_dict)`` file into ``model``.

    Raises FileNotFoundError if ``path`` is missing and ValueError (one line,
    naming the file and the first offending keys) if it cannot be read or does
    not match the model. Returns ``model``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling/zip errors come in many types
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ValueError(f"cannot read checkpoint {path}: {type(exc).__name__}: {reason}") from exc
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"checkpoint {path} is not a plain state_dict of tensors (torch.save(model.state_dict()))")

    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k} {tuple(state[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or shapes:
        problems = []
        if missing:
            problems.append(f"missing keys: {_preview(missing)}")
        if unexpected:
            problems.append(f"unexpected keys: {_preview(unexpected)}")
        if shapes:
            problems.append(f"shape mismatch: {_preview(shapes)}")
        hint = ""
        cls = state.get("pretrained.cls_token")
        if cls is not None:
            guess = [e for e, c in ENCODER_CONFIGS.items() if c["embed_dim"] == cls.shape[-1]]
            if guess and guess[0] != model.encoder:
                hint = f" (it looks like a {guess[0]!r} checkpoint)"
        raise ValueError(
            f"checkpoint {path} does not match Depth-Anything-V2 {model.encoder!r}{hint}: " + "; ".join(problems)
        )
    model.load_state_dict(state, strict=True)  # also refreshes the cached positional table
    return model
