"""report.json (schema 4) from a real verify + bench build (COCO128 labels) validates, with every accuracy number's
95 % interval and the slices; an older report (schema 3) still reads; the Markdown view and PNG plots are written."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from conftest import COCO128, REPO, YOLO_WEIGHTS
from trtbuild import api
from trtbuild.build.pipeline import BuildOptions
from trtbuild.recipe import Overrides
from trtbuild.build.report import SCHEMA_VERSION, BuildReport, json_schema, load_report
from trtbuild.build.report_markdown import render
from trtbuild.core.errors import UsageError

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
    assert report.schema_version == SCHEMA_VERSION == 4 and report.status == "ok"
    assert report.verify.passed and report.verify.task == "detect"
    assert report.verify.table[0].metric == "mAP50-95 (labels)"
    runners = {t.runner: t for t in report.bench.runners}
    assert set(runners) == {"torch", "onnxruntime"}
    assert runners["torch"].speedup_vs_torch == 1.0 and runners["onnxruntime"].stats.count == 3
    assert runners["onnxruntime"].mode == "cpu" and runners["onnxruntime"].timer == "perf_counter"
    assert report.bench.skipped == {}
    assert {"verify", "bench"} <= set(json_schema()["properties"])


def test_every_accuracy_number_has_its_interval_and_the_gate_is_judged_on_it(built):
    verify = load_report(built / "report.json").verify
    drop = verify.intervals["map50_95_drop_pct"]
    assert drop.value == pytest.approx(verify.values["map50_95_drop_pct"]) and drop.images == 2
    assert drop.method.startswith("paired bootstrap 1000x seed 0")
    gate = verify.gates[0]
    assert (gate.status, gate.low, gate.high, verify.verdict) == ("pass", drop.low, drop.high, "pass")
    assert {row["slice"] for row in verify.slices["by_size"]} == {"all", "small", "medium", "large"}
    assert verify.batch_shapes is None  # a fixed batch: nothing more to verify
    markdown = (built / "report.md").read_text()
    assert f"| map50_95_drop_pct | {gate.measured()} | <= 1 | pass |" in markdown and "Verdict: **pass**" in markdown
    assert "**by size**" in markdown and "](yolo12n.verify.slices_by_size.png)" in markdown


def _as_schema_3(data: dict) -> dict:
    """What trtbuild wrote before intervals: no intervals, slices, verdict or per-batch check; gates on points."""
    verify = data["verify"]
    for key in ("intervals", "slices", "verdict", "batch_shapes"):
        del verify[key]
    verify["gates"] = [{k: v for k, v in g.items() if k in ("metric", "value", "max", "min", "passed", "excess",
                                                            "status")} for g in verify["gates"]]
    return {**data, "schema_version": 3}


def test_a_schema_3_report_still_reads_and_renders(built, tmp_path):
    old = tmp_path / "report.json"
    old.write_text(json.dumps(_as_schema_3(json.loads((built / "report.json").read_text()))))
    report = load_report(old)
    assert report.schema_version == 3 and report.verify.verdict is None and report.verify.intervals == {}
    assert "| map50_95_drop_pct | 0 | <= 1 | pass |" in render(report, tmp_path)
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({**json.loads(old.read_text()), "schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(UsageError, match=f"report schema {SCHEMA_VERSION + 1} is newer than this trtbuild's"):
        load_report(newer)


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
