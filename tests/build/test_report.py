"""report.json (schema 3) from a real verify + bench build (COCO128 labels) validates; its Markdown view and PNG plots are written."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from conftest import COCO128, REPO, YOLO_WEIGHTS
from trtbuild import api
from trtbuild.build.pipeline import BuildOptions
from trtbuild.recipe import Overrides
from trtbuild.build.report import SCHEMA_VERSION, BuildReport, json_schema, load_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SETS = ["verify.max_images=2", "bench.runners=[torch,onnxruntime]", "bench.iterations=3", "bench.warmup_s=0"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("engines")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO)
        api.bench("yolo12n", Overrides(weights=YOLO_WEIGHTS, precision="fp32", sets=SETS, data=COCO128),
                  BuildOptions(out_root=out), tmp_path_factory.getbasetemp() / "trtbuild-cache")
    return out / "yolo12n"


def test_report_json_validates_with_verify_and_bench_sections(built):
    report = load_report(built / "report.json")
    assert report.schema_version == SCHEMA_VERSION == 3 and report.status == "ok"
    assert report.verify.passed and report.verify.task == "detect"
    assert report.verify.table[0].metric == "mAP50-95 (labels)"
    runners = {t.runner: t for t in report.bench.runners}
    assert set(runners) == {"torch", "onnxruntime"}
    assert runners["torch"].speedup_vs_torch == 1.0 and runners["onnxruntime"].stats.count == 3
    assert runners["onnxruntime"].mode == "cpu" and runners["onnxruntime"].timer == "perf_counter"
    assert report.bench.skipped == {}
    assert {"verify", "bench"} <= set(json_schema()["properties"])


def test_a_report_with_a_broken_section_is_rejected(built):
    data = json.loads((built / "report.json").read_text())
    del data["bench"]["runners"][0]["stats"]["p99_ms"]
    with pytest.raises(ValidationError, match="p99_ms"):
        BuildReport.model_validate(data)


def test_markdown_and_plots_are_written(built):
    markdown = (built / "report.md").read_text()
    assert "| metric | PyTorch | candidate | speedup |" in markdown
    assert "median latency, onnxruntime (cpu) ms" in markdown
    for plot in ("yolo12n.verify.detections.png", "yolo12n.bench.latency.png"):
        assert f"]({plot})" in markdown
        assert (built / plot).read_bytes()[:8] == PNG_MAGIC
