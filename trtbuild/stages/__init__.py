"""The stages, in pipeline order (names match recipe.STAGE_NAMES)."""

from trtbuild.stages.bench import BenchStage
from trtbuild.stages.check import CheckStage
from trtbuild.stages.engine import EngineStage
from trtbuild.stages.export import ExportStage
from trtbuild.stages.precision import PrecisionStage
from trtbuild.stages.simplify import SimplifyStage
from trtbuild.stages.verify import VerifyStage

STAGES = [ExportStage, SimplifyStage, CheckStage, PrecisionStage, EngineStage, VerifyStage, BenchStage]
