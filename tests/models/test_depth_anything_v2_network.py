"""Depth-Anything-V2 network: checkpoint layout, numerical parity, ONNX export."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest
import torch

from trtbuild.models.depth_anything_v2 import ENCODER_CONFIGS, build_depth_anything_v2, load_checkpoint

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DIR = REPO_ROOT.parent / "shared" / "reference"
CHECKPOINT = REFERENCE_DIR / "depth_anything_v2_vits_seeded.pth"
REFERENCE_IO = REFERENCE_DIR / "depth_anything_v2_vits_reference_io.pt"
KEY_MAP = REFERENCE_DIR / "depth_anything_v2_vits_state_dict.json"


def _require(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"reference file not available: {path}")
    return path


@pytest.fixture(scope="module")
def reference_io() -> dict:
    return torch.load(_require(REFERENCE_IO), map_location="cpu", weights_only=False)


@pytest.fixture(scope="module")
def seeded_state() -> dict[str, torch.Tensor]:
    return torch.load(_require(CHECKPOINT), map_location="cpu", weights_only=True)


def test_state_dict_matches_original_layout():
    expected = json.loads(_require(KEY_MAP).read_text())["keys"]
    model = build_depth_anything_v2("vits", 392)
    got = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert got == expected  # also proves the resized pos-embed cache is not saved


@pytest.mark.parametrize("size", [518, 392])
def test_matches_reference_outputs(size, reference_io):
    model = load_checkpoint(build_depth_anything_v2("vits", size), _require(CHECKPOINT))
    x = reference_io[f"input_{size}"].float()
    with torch.no_grad():
        depth = model(x)
    expected = reference_io[f"output_{size}"]
    assert depth.shape == expected.shape == (1, size, size)
    assert (depth - expected).abs().max().item() < 1e-4


def test_eager_forward_adapts_to_a_new_size(reference_io):
    # Prepared for 518, called at 392: the positional table is recomputed on the fly.
    model = load_checkpoint(build_depth_anything_v2("vits", 518), _require(CHECKPOINT))
    with torch.no_grad():
        depth = model(reference_io["input_392"].float())
    assert model.input_size == (392, 392)
    assert (depth - reference_io["output_392"]).abs().max().item() < 1e-4


@pytest.mark.parametrize("size", [500, (518, 500), 0])
def test_size_not_multiple_of_14_is_rejected(size):
    with pytest.raises(ValueError, match="multiples of"):
        build_depth_anything_v2("vits", size)


def test_input_not_multiple_of_14_is_rejected():
    model = build_depth_anything_v2("vits", 392)
    with pytest.raises(ValueError, match="multiples of"), torch.no_grad():
        model(torch.zeros(1, 3, 392, 400))


def test_unknown_encoder_is_rejected():
    with pytest.raises(ValueError, match="vitx"):
        build_depth_anything_v2("vitx")


def test_encoder_configs():
    assert set(ENCODER_CONFIGS) >= {"vits", "vitb", "vitl"}
    assert ENCODER_CONFIGS["vits"]["features"] == 64
    assert ENCODER_CONFIGS["vits"]["out_channels"] == [48, 96, 192, 384]
    assert ENCODER_CONFIGS["vits"]["layers"] == [2, 5, 8, 11]


def test_missing_checkpoint_file(tmp_path):
    path = tmp_path / "nope.pth"
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        load_checkpoint(build_depth_anything_v2("vits", 392), path)


def test_renamed_key_is_reported(tmp_path, seeded_state):
    state = dict(seeded_state)
    state["pretrained.blocks.3.attn.qkv.w"] = state.pop("pretrained.blocks.3.attn.qkv.weight")
    path = tmp_path / "renamed.pth"
    torch.save(state, path)
    with pytest.raises(ValueError) as info:
        load_checkpoint(build_depth_anything_v2("vits", 392), path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    assert "missing keys: pretrained.blocks.3.attn.qkv.weight" in message
    assert "unexpected keys: pretrained.blocks.3.attn.qkv.w" in message


def test_shape_mismatch_is_reported(tmp_path, seeded_state):
    state = dict(seeded_state)
    state["depth_head.projects.0.bias"] = torch.zeros(7)
    path = tmp_path / "reshaped.pth"
    torch.save(state, path)
    with pytest.raises(ValueError, match=r"shape mismatch: depth_head\.projects\.0\.bias \(7,\)"):
        load_checkpoint(build_depth_anything_v2("vits", 392), path)


def test_unreadable_checkpoint_is_reported(tmp_path):
    path = tmp_path / "garbage.pth"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="garbage.pth"):
        load_checkpoint(build_depth_anything_v2("vits", 392), path)


def _export(model: torch.nn.Module, path: Path, size: int) -> None:
    with torch.no_grad():
        torch.onnx.export(
            model, (torch.zeros(1, 3, size, size),), path, dynamo=False, opset_version=17,
            input_names=["images"], output_names=["depth"],
            dynamic_axes={"images": {0: "batch"}, "depth": {0: "batch"}},
        )


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::torch.jit.TracerWarning")
def test_export_refuses_an_unprepared_size(tmp_path):
    # Tracing must never compute the bicubic pos-embed resize itself.
    model = build_depth_anything_v2("vits", 448)
    with pytest.raises(ValueError, match=r"prepare_for_size\(\(392, 392\)\)"):
        _export(model, tmp_path / "x.onnx", 392)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_onnx_export_is_clean_and_matches_onnxruntime(tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    model = build_depth_anything_v2("vits", 392)
    if CHECKPOINT.is_file():  # real weights give a more meaningful comparison
        load_checkpoint(model, CHECKPOINT)
    path = tmp_path / "dav2.onnx"
    _export(model, path, 392)

    graph = onnx.load(path).graph
    ops = collections.Counter(node.op_type for node in graph.node)
    for node in graph.node:
        if node.op_type == "Resize":
            mode = next(a.s for a in node.attribute if a.name == "mode")
            assert mode != b"cubic", "positional-embedding interpolation leaked into the graph"
    # One LayerNormalization per norm application: norm1/norm2 in every block plus
    # the final norm applied to each of the 4 tapped layers.
    depth = ENCODER_CONFIGS["vits"]["depth"]
    assert ops["LayerNormalization"] == 2 * depth + 4
    assert ops["ReduceMean"] == 0  # no decomposed LayerNorm
    # attention exports as MatMul-Softmax-MatMul (eager runs PyTorch's fused kernel, compared below)
    assert ops["Softmax"] == depth and "Attention" not in ops

    images = torch.randn(2, 3, 392, 392, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model(images).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"images": images.numpy()})
    assert got.shape == (2, 392, 392)  # dynamic batch works
    assert abs(got - expected).max() < 1e-3
