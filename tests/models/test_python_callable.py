"""The `python` adapter: a user's `package.module:callable` through export and check, and its error messages."""

from __future__ import annotations

import pytest
import yaml

from conftest import ASSETS

from trtbuild import api
from trtbuild.core.errors import UsageError
from trtbuild.build.pipeline import BuildOptions


def _recipe(tmp_path, target: str) -> str:
    path = tmp_path / "resnet.yaml"
    path.write_text(yaml.safe_dump({
        "name": "resnet18", "task": "other",
        "model": {"adapter": "python", "options": {"target": target, "kwargs": {"num_classes": 10},
                                                   "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}},
        "inputs": [{"name": "image", "shape": [1, 3, 64, 64], "dynamic": {0: {"min": 1, "opt": 1, "max": 4}}}],
        "export": {"output_names": ["logits"]},
        "check": {"images": str(ASSETS / "coco8/images/val"), "max_images": 2},
    }))
    return str(path)


def test_user_callable_exports_and_checks_on_real_images(tmp_path, in_repo, cache_dir):
    report = api.build(_recipe(tmp_path, "torchvision.models:resnet18"), options=BuildOptions("check", out_root=tmp_path))
    export, _, check = report.stages
    assert export.metrics["inputs"] == ["image"] and export.metrics["outputs"] == ["logits"]
    # measured here: max_abs 1.3e-6, rel_l2 1.0e-6; 10x headroom, far inside the default gate (1e-3, 1e-4)
    parity = check.metrics["outputs"]["logits"]
    assert check.metrics["samples"] == 2 and parity["max_abs"] < 1.3e-5 and parity["rel_l2"] < 1e-5


@pytest.mark.parametrize(("target", "expected"), [
    ("torchvision.models.resnet18", "expected 'package.module:callable'"),
    ("torchvision.models:no_such_net", "cannot load 'torchvision.models:no_such_net'"),
    ("builtins:dict", "returned dict, not a torch.nn.Module"),
    ("json:dumps", r"model.options.kwargs: json:dumps\(\*\*\{'num_classes': 10\}\) failed"),
])
def test_bad_targets_are_usage_errors(tmp_path, in_repo, cache_dir, target, expected):
    with pytest.raises(UsageError, match=expected):
        api.build(_recipe(tmp_path, target), options=BuildOptions("export", out_root=tmp_path))
