"""TensorRT `DataType` member names -> the dtype names trtbuild records and torch understands."""

from __future__ import annotations

TRT_DTYPES = {"FLOAT": "float32", "HALF": "float16", "BF16": "bfloat16", "INT8": "int8", "INT32": "int32",
              "INT64": "int64", "BOOL": "bool", "UINT8": "uint8", "FP8": "float8_e4m3fn"}


def dtype_name(trt_dtype) -> str:
    """A `trt.DataType` member (pybind11 enums carry `.name`) -> 'float32', 'float16', ..."""
    name = trt_dtype.name
    return TRT_DTYPES.get(name, name.lower())
