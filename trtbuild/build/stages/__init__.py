"""The stages in pipeline order, each name with the Stage class that runs it (trtbuild/build/stages/<name>.py: a
stage's name is its module's); a stage's module is imported only when a build reaches it, so listing the names (CLI
help, --until, --force-stage) imports nothing."""

from __future__ import annotations

from trtbuild.core.registry import Part, Registry

STAGES = Registry("stage", [
    Part("export", "trtbuild.build.stages.export:ExportStage"),
    Part("simplify", "trtbuild.build.stages.simplify:SimplifyStage"),
    Part("check", "trtbuild.build.stages.check:CheckStage"),
    Part("precision", "trtbuild.build.stages.precision:PrecisionStage"),
    Part("engine", "trtbuild.build.stages.engine:EngineStage"),
    Part("verify", "trtbuild.build.stages.verify:VerifyStage"),
    Part("bench", "trtbuild.build.stages.bench:BenchStage"),
])
STAGE_NAMES = tuple(STAGES)


def stage_class(name: str) -> type:
    """The Stage subclass named `name` (KeyError for a name not in STAGES)."""
    return STAGES.load(name)
