"""The runner contract's shared pieces."""

from __future__ import annotations

import hashlib

import pytest

from trtbuild.runners.base import ChangedModelFile, read_model


def test_read_model_refuses_bytes_that_are_not_the_recorded_ones(tmp_path):
    path = tmp_path / "yolo12n.fp16.engine"
    path.write_bytes(b"plan")
    assert read_model(path, hashlib.sha256(b"plan").hexdigest()) == b"plan"
    assert read_model(path, None) == b"plan"  # no digest: nothing to check
    with pytest.raises(ChangedModelFile, match="yolo12n.fp16.engine"):
        read_model(path, hashlib.sha256(b"another plan").hexdigest())
