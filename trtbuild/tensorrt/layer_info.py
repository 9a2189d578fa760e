"""Engine-inspector JSON in one shape for both majors.

10.x: top-level `"Bindings": [names]`, per-tensor `"Format/Datatype": "Row major linear FP16 format"`.
11.x: `"I/O Tensors": [{Name, IOMode, DataType, Dimensions, ...}]`, per-tensor `Format` and `DataType` split.
With profiling verbosity LAYER_NAMES_ONLY, `Layers` is a list of names instead of objects."""

from __future__ import annotations

import re
from collections import Counter

_DTYPES = {"fp32": "float32", "float": "float32", "fp16": "float16", "half": "float16", "bf16": "bfloat16",
           "int8": "int8", "int32": "int32", "int64": "int64", "bool": "bool", "uint8": "uint8", "fp8": "fp8",
           "int4": "int4", "fp4": "fp4"}
_DTYPE_WORD = re.compile(r"\b(" + "|".join(_DTYPES) + r")\b", re.IGNORECASE)


def tensor_dtype(tensor: dict) -> str | None:
    text = tensor.get("DataType") or tensor.get("Format/Datatype") or ""
    match = _DTYPE_WORD.search(text)
    return _DTYPES[match.group(1).lower()] if match else None


def normalize(info: dict) -> dict:
    """-> {schema, io_tensors: [{name, mode?, dtype?, shape?}], layers: [{name, type?, output_dtypes}],
    output_dtype_histogram}."""
    if "I/O Tensors" in info:
        schema = "io_tensors"
        io = [{"name": t["Name"], "mode": t.get("IOMode", "").lower() or None, "dtype": tensor_dtype(t),
               "shape": t.get("Dimensions")} for t in info["I/O Tensors"]]
    else:
        schema = "bindings"
        io = [{"name": name, "mode": None, "dtype": None, "shape": None} for name in info.get("Bindings", [])]
    layers = [_layer(entry) for entry in info.get("Layers", [])]
    histogram = Counter(dtype for layer in layers for dtype in layer["output_dtypes"])
    return {"schema": schema, "io_tensors": io, "layers": layers, "num_layers": len(layers),
            "output_dtype_histogram": dict(sorted(histogram.items()))}


def _layer(entry: dict | str) -> dict:
    if isinstance(entry, str):  # LAYER_NAMES_ONLY
        return {"name": entry, "type": None, "output_dtypes": []}
    dtypes = [d for d in (tensor_dtype(t) for t in entry.get("Outputs", [])) if d]
    return {"name": entry.get("Name"), "type": entry.get("LayerType"), "output_dtypes": dtypes}
