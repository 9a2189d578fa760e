"""Ultralytics checkpoints are pickles: one that names code is refused before anything of it runs."""

from __future__ import annotations

import os

import pytest
import torch

from conftest import YOLO_WEIGHTS
from trtbuild import api
from trtbuild.core.errors import UsageError
from trtbuild.build.pipeline import BuildOptions
from trtbuild.recipe import Overrides


class _Planted:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):  # what a malicious .pt does: unpickling calls this with these arguments
        return os.mknod, (str(self.marker),)


@pytest.fixture
def planted(tmp_path):
    path, marker = tmp_path / "planted.pt", tmp_path / "code-ran"
    torch.save({"model": _Planted(marker)}, path)
    return path, marker


def _build(weights, tmp_path, sets=()):
    api.build("yolo12n", Overrides(weights=weights, sets=list(sets)), BuildOptions("export", out_root=tmp_path),
              cache_dir=tmp_path / "cache")


def test_checkpoint_naming_code_is_refused_unrun(planted, tmp_path, in_repo):
    path, marker = planted
    with pytest.raises(UsageError, match=r"model.weights: .*planted.pt is not an Ultralytics checkpoint that loads "
                                         r"with weights_only .*model.options.trust_pickle: true"):
        _build(path, tmp_path)
    assert not marker.exists()


def test_trust_pickle_loads_it_fully(planted, tmp_path, in_repo):
    """The control: the same file really runs code when fully unpickled."""
    path, marker = planted
    with pytest.raises(UsageError):  # it is not a model either
        _build(path, tmp_path, ["model.options.trust_pickle=true"])
    assert marker.exists()


def test_real_checkpoint_passes_the_vetting():
    """The vetting skips itself where Ultralytics or torch has no weights_only loader (it would then pass anything);
    the locked versions have one, so here it must really run."""
    import ultralytics.nn.tasks as tasks

    from trtbuild.models.ultralytics_yolo import _vet_checkpoint

    assert tasks._SafeLoad.SUPPORTED, "no weights_only loader: checkpoints would load unvetted"
    _vet_checkpoint(YOLO_WEIGHTS)
