"""Which TensorRT I/O data types the engine runner can hold in torch buffers: every member of the newest manifest's
DataType is either carried (a torch dtype of the same layout) or refused with a reason, never mis-sized."""

import types

import pytest
import torch

from trtbuild.tensorrt.dtypes import UNCARRIED, dtype_name, uncarried_reason


@pytest.fixture
def data_types(fake):
    return fake.make_module("11.1.0").DataType


def test_every_data_type_is_carried_or_refused(data_types):
    carried = {}
    for name in ("FLOAT", "HALF", "BF16", "INT8", "INT32", "INT64", "BOOL", "UINT8", "FP8", "INT4", "FP4", "E8M0"):
        member = getattr(data_types, name)
        if uncarried_reason(member, torch) is None:
            carried[name] = getattr(torch, dtype_name(member))
    assert carried == {"FLOAT": torch.float32, "HALF": torch.float16, "BF16": torch.bfloat16, "INT8": torch.int8,
                       "INT32": torch.int32, "INT64": torch.int64, "BOOL": torch.bool, "UINT8": torch.uint8,
                       "FP8": torch.float8_e4m3fn}
    assert all(getattr(torch, dtype_name(getattr(data_types, name))).itemsize == 1 for name in ("INT8", "FP8"))


@pytest.mark.parametrize("name", ["INT4", "FP4", "E8M0"])
def test_packed_and_scale_types_are_refused_even_where_torch_has_a_dtype_name(data_types, name):
    """torch.int4 exists as a shell dtype; a buffer of it would hold one byte per value, twice INT4's size."""
    assert uncarried_reason(getattr(data_types, name), torch) == UNCARRIED[name]


def test_fp8_is_refused_by_a_torch_without_float8(data_types):
    old_torch = types.SimpleNamespace(__version__="2.0.1", float32=torch.float32)
    assert uncarried_reason(data_types.FP8, old_torch) == "torch 2.0.1 has no float8_e4m3fn dtype"
