"""Each stage declares its metrics (a typed StageMetrics model in its module) and its headline; the terminal table and
report.md render what the stages declare, with no switch on stage names, and report.md imports nothing of the
terminal's."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest
from pydantic import ValidationError
from rich.console import Console

from reliability.builds import tiny_recipe
from trtbuild import api
from trtbuild.build import console, report_markdown
from trtbuild.build.console import summary_table
from trtbuild.build.pipeline import BuildOptions
from trtbuild.build.report_markdown import render
from trtbuild.build.stages import STAGE_NAMES, stage_class
from trtbuild.build.stages.base import StageMetrics
from trtbuild.build.stages.export import ExportMetrics


def test_every_stage_declares_its_own_metrics_and_headline():
    for name in STAGE_NAMES:
        metrics = stage_class(name).Metrics
        assert issubclass(metrics, StageMetrics) and metrics is not StageMetrics, name
        assert metrics.headline is not StageMetrics.headline, name


def test_metrics_are_typed():
    with pytest.raises(ValidationError, match="nodes"):
        ExportMetrics(opset=17, nodes="many", size_bytes=1, export_seconds=0.1, inputs=[], outputs=[],
                      random_weights=False)
    with pytest.raises(ValidationError, match="nodez"):
        ExportMetrics.model_validate({"opset": 17, "nodez": 3})


def test_the_views_show_what_each_stage_declares(tmp_path):
    report = api.build(str(tiny_recipe(tmp_path)), options=BuildOptions("precision", out_root=tmp_path / "out"),
                       cache_dir=tmp_path / "cache")
    terminal = Console(file=io.StringIO(), width=300)
    terminal.print(summary_table(report))
    markdown = render(report, tmp_path / "out" / "tiny")
    for record in report.stages:
        declared = stage_class(record.name).Metrics.model_validate(record.metrics)
        assert record.metrics == declared.record()  # report.json keys: the fields the stage set
        assert record.headline() == declared.headline() != ""
        assert declared.headline() in terminal.file.getvalue() and declared.headline().replace("|", "/") in markdown
    assert [r.headline() for r in report.stages][:2] == ["opset 17, 65 nodes", "onnxsim: 65 -> 49 nodes"]


@pytest.mark.parametrize("module", [console, report_markdown])
def test_no_view_switches_on_stage_names_and_report_md_imports_no_terminal_code(module):
    tree = ast.parse(Path(module.__file__).read_text())
    compared = [node for node in ast.walk(tree) if isinstance(node, ast.Compare)
                and any(isinstance(c, ast.Constant) and c.value in STAGE_NAMES for c in node.comparators)]
    assert compared == []
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "trtbuild.build.console" not in imported
