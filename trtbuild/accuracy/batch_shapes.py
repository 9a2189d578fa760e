"""Every batch a dynamic profile allows, verified: the candidate runs at the profile's min, opt and max batch, and each
image's outputs inside a batch must match the same image's outputs alone.

A batching bug (an axis mixed up, a plan that only works at the opt size) moves the outputs by an order of one in
relative L2; kernels that pick other tactics at another batch size move only the last digits (TensorRT's TF32 for
FP32 layers, FP16 accumulation order, a requantized value one step off), hence a tolerance per precision.
"""

from __future__ import annotations

import numpy as np

from trtbuild.accuracy.parity import compare_outputs, merge_worst
from trtbuild.recipe.schema import InputSpec, Recipe
from trtbuild.runners.base import Runner

# relative L2 between alone and batched; loose next to a bug's ~1 (not yet measured on a GPU's tactics)
BATCH_REL_L2 = {"fp32": 1e-3, "fp16": 1e-2, "bf16": 3e-2, "int8": 3e-2}


def profile_batches(spec: InputSpec) -> list[int]:
    """The batch sizes at the dynamic batch axis's min, opt and max, once each; [] for a fixed batch."""
    axis = spec.dynamic.get(0)
    return sorted({axis.min, axis.opt, axis.max}) if axis else []


def batch_tolerance(recipe: Recipe) -> float:
    return recipe.verify.batch_rel_l2 or BATCH_REL_L2[recipe.precision.mode]


def verify_batches(runner: Runner, name: str, images: np.ndarray, batches: list[int], rel_l2: float) -> list[dict]:
    """`images` (N, C, H, W) prepared inputs of input `name`, cycled to fill the largest batch. Alone means in a batch
    of the smallest size the profile allows, filled with copies of the image (batch 1 where the profile has it).
    Per batch size: {batch, outputs: worst parity with alone over its images, passed, problem}."""
    samples = images[np.arange(batches[-1]) % len(images)]
    with runner:
        alone = [_rows(runner.infer({name: np.repeat(sample[None], batches[0], axis=0)}), 0) for sample in samples]
        found = []
        for batch in batches:
            outputs = runner.infer({name: samples[:batch]})
            short = [f"{output} has {len(array)} rows" for output, array in outputs.items() if len(array) != batch]
            worst = {} if short else merge_worst([compare_outputs(alone[i], _rows(outputs, i)) for i in range(batch)])
            problem = "; ".join(short) or "; ".join(
                f"{output} rel_l2 {stats['rel_l2']:.3g} > {rel_l2:g}" if stats["finite"] else f"{output} has NaN/Inf"
                for output, stats in worst.items() if not stats["finite"] or stats["rel_l2"] > rel_l2)
            found.append({"batch": batch, "outputs": worst, "passed": not problem, "problem": problem or None})
    return found


def _rows(outputs: dict[str, np.ndarray], index: int) -> dict[str, np.ndarray]:
    return {output: array[index] for output, array in outputs.items()}
