"""The one rule for a GPU target: the recipe's `engine.compute_capabilities` and a farm's `--target` / `targets:`
both read a target through `compute_capability`, so a value gets the same verdict everywhere."""

from __future__ import annotations

# Compute capabilities CUDA has shipped GPUs for (a target outside this list is a typo, not a new GPU).
COMPUTE_CAPABILITIES = ("5.0", "5.2", "5.3", "6.0", "6.1", "6.2", "7.0", "7.2", "7.5", "8.0", "8.6", "8.7", "8.9",
                        "9.0", "10.0", "10.1", "10.3", "11.0", "12.0", "12.1")


def compute_capability(value: object) -> str:
    """'8.6', 8.6 or 12 -> '8.6' / '12.0' (YAML reads `[8.6, 12]` as numbers); anything else raises ValueError with
    one line naming the value (callers add the key)."""
    text = str(float(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
    if text not in COMPUTE_CAPABILITIES:
        raise ValueError(f"{value!r} is not a compute capability (one of {', '.join(COMPUTE_CAPABILITIES)})")
    return text
