"""The FP32 island policy on real exported graphs: single-op norms, decomposed norms, recipe additions."""

from __future__ import annotations

import io

import onnx
import pytest
import torch

from trtbuild.precision.policy import decomposed_norms, fp32_islands, match_nodes, name_nodes


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = torch.nn.LayerNorm(8)
        self.proj = torch.nn.Linear(8, 8)

    def forward(self, x):
        y = self.proj(self.norm(x))
        return torch.softmax(y, -1) / 3.0  # a Div that is no norm


def exported(opset: int) -> onnx.ModelProto:
    buffer = io.BytesIO()
    torch.onnx.export(Block().eval(), torch.randn(1, 4, 8), buffer, opset_version=opset, dynamo=False)
    model = onnx.load_from_string(buffer.getvalue())
    name_nodes(model)
    return model


def test_single_op_layernorm_and_softmax_stay_fp32():
    islands = fp32_islands(exported(17))
    assert sorted(islands.summary()) == ["LayerNormalization (default policy)", "Softmax (default policy)"]


def test_decomposed_layernorm_is_found_but_other_divs_are_not():
    model = exported(16)  # LayerNormalization is an opset-17 op: opset 16 decomposes it
    (norm,) = decomposed_norms(model)
    ops = {n.name: n.op_type for n in model.graph.node}
    assert sorted(ops[n] for n in norm) == ["Add", "Div", "Pow", "ReduceMean", "ReduceMean", "Sqrt", "Sub"]
    divs = [n for n, op in ops.items() if op == "Div"]
    assert len(divs) == 2 and sum(d in fp32_islands(model).reasons for d in divs) == 1


def test_recipe_additions_and_unknown_nodes():
    model = exported(17)
    matmul = next(n.name for n in model.graph.node if n.op_type in ("MatMul", "Gemm"))
    islands = fp32_islands(model, op_types=["Div"], nodes=[matmul])
    assert islands.reasons[matmul] == "named in recipe keep_fp32.nodes"
    assert any(r == "Div (recipe keep_fp32.op_types)" for r in islands.reasons.values())
    with pytest.raises(ValueError, match="no node named 'nope'"):
        fp32_islands(model, nodes=["nope"])


def test_node_patterns_match_by_shell_glob_in_graph_order():
    model = exported(17)
    matmuls = [n.name for n in model.graph.node if n.op_type == "MatMul"]
    assert match_nodes(model, ["*MatMul*"]) == matmuls and matmuls
    assert match_nodes(model, [matmuls[0]]) == [matmuls[0]]
    with pytest.raises(ValueError, match=r"no node named '/nothing/\*'"):
        match_nodes(model, ["*MatMul*", "/nothing/*"])
