"""simplify: onnxsim (or onnxslim); a failing simplifier is a warning and the input passes through unchanged."""

from __future__ import annotations

import shutil
from collections import Counter

from trtbuild.build.stages.base import Artifacts, Stage, StageContext, StageMetrics, StageOutput


def _onnxsim(model):
    import onnxsim

    simplified, ok = onnxsim.simplify(model)
    if not ok:
        raise RuntimeError("onnxsim's own output check failed")
    return simplified


def _onnxslim(model):
    import onnxslim

    return onnxslim.slim(model)


SIMPLIFIERS = {"onnxsim": _onnxsim, "onnxslim": _onnxslim}


class SimplifyMetrics(StageMetrics):
    tool: str  # the simplifier whose graph was kept, or "none" (passed through)
    nodes_before: int
    nodes_after: int
    size_bytes: int
    removed_ops: dict[str, int]  # op type -> nodes of it removed

    def headline(self) -> str:
        return f"{self.tool}: {self.nodes_before} -> {self.nodes_after} nodes"


class SimplifyStage(Stage):
    tools = ("onnx", "onnxsim", "onnxslim")
    publish = {"onnx": "{name}.onnx"}
    Metrics = SimplifyMetrics

    def params(self) -> dict:
        return self.recipe.simplify.model_dump(mode="json")

    def inputs(self, artifacts: Artifacts) -> dict:
        return {"onnx": artifacts["export.onnx"]}

    def run(self, ctx: StageContext) -> StageOutput:
        import onnx

        source = ctx.inputs["onnx"]
        target = ctx.workdir / "model.onnx"
        model = onnx.load(str(source))
        before = Counter(n.op_type for n in model.graph.node)
        spec = self.recipe.simplify
        attempts = [t for t in dict.fromkeys([spec.tool, spec.fallback]) if t != "none"]
        warnings, used = [], "none"
        for tool in attempts:
            try:
                simplified = SIMPLIFIERS[tool](model)
                onnx.checker.check_model(simplified)
            except Exception as exc:  # any simplifier failure is recoverable: try the next, else pass through
                message = f"{tool} failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
                ctx.log(message)
                warnings.append(message)
                continue
            onnx.save(simplified, str(target))
            used = tool
            break
        if used == "none":
            shutil.copyfile(source, target)
            if attempts:
                warnings.append("simplify skipped: passing the exported graph through unchanged")
        after = Counter(n.op_type for n in onnx.load(str(target), load_external_data=False).graph.node)
        ctx.log(f"simplified with {used}: {sum(before.values())} -> {sum(after.values())} nodes")
        return StageOutput(
            artifacts={"onnx": target.name},
            metrics=SimplifyMetrics(
                tool=used,
                nodes_before=sum(before.values()),
                nodes_after=sum(after.values()),
                size_bytes=target.stat().st_size,
                removed_ops={op: n - after.get(op, 0) for op, n in sorted(before.items()) if n > after.get(op, 0)},
            ),
            warnings=warnings,
        )
