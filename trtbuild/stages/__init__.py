"""The stages, in pipeline order (names match recipe.STAGE_NAMES)."""

from trtbuild.stages.check import CheckStage
from trtbuild.stages.engine import EngineStage
from trtbuild.stages.export import ExportStage
from trtbuild.stages.precision import PrecisionStage
from trtbuild.stages.simplify import SimplifyStage

STAGES = [ExportStage, SimplifyStage, CheckStage, PrecisionStage, EngineStage]
