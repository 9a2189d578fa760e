"""TensorRT `DataType` member names -> the dtype names trtbuild records and torch understands, and which of them the
engine runner can carry in torch buffers."""

from __future__ import annotations

TRT_DTYPES = {"FLOAT": "float32", "HALF": "float16", "BF16": "bfloat16", "INT8": "int8", "INT32": "int32",
              "INT64": "int64", "BOOL": "bool", "UINT8": "uint8", "FP8": "float8_e4m3fn"}

# Members with no torch dtype of the same layout: a torch buffer of one element per value would be mis-sized (4-bit
# types pack two values per byte) or mean something else (E8M0 holds block-scale exponents only).
UNCARRIED = {"INT4": "4-bit integers packed two per byte", "FP4": "4-bit floats packed two per byte",
             "E8M0": "exponent-only block scales"}

# torch dtypes numpy has no type for: host arrays carry them as float32
NOT_IN_NUMPY = ("bfloat16", "float8_e4m3fn")


def dtype_name(trt_dtype) -> str:
    """A `trt.DataType` member (pybind11 enums carry `.name`) -> 'float32', 'float16', ..."""
    name = trt_dtype.name
    return TRT_DTYPES.get(name, name.lower())


def uncarried_reason(trt_dtype, torch_module) -> str | None:
    """Why the engine runner cannot hold I/O of this `trt.DataType` in torch buffers (None: it can)."""
    if trt_dtype.name in UNCARRIED:
        return UNCARRIED[trt_dtype.name]
    if not hasattr(torch_module, dtype_name(trt_dtype)):
        return f"torch {torch_module.__version__} has no {dtype_name(trt_dtype)} dtype"
    return None
