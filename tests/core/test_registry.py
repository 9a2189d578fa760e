"""The one registry idiom (trtbuild.core.registry) that stages, backends, tasks, adapters and runners use: names, old
spellings and order are declared; a part's module is imported only when it is loaded."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import trtbuild.tasks
from trtbuild.backends.registry import BACKENDS
from trtbuild.build.stages import STAGES
from trtbuild.core.registry import Part, Registry
from trtbuild.models.registry import ADAPTERS
from trtbuild.runners import RUNNERS
from trtbuild.tasks.registry import TASKS

REGISTRIES = (STAGES, BACKENDS, TASKS, ADAPTERS, RUNNERS)


def test_a_part_is_found_by_name_or_old_spelling_and_imported_when_loaded():
    codecs = Registry("codec", [Part("json", "json:dumps", aliases=("js",)), Part("repr", "builtins:repr")])
    assert list(codecs) == ["json", "repr"] and codecs.aliases == {"js": "json"}
    assert codecs["js"] is codecs["json"] and "js" in codecs and "xml" not in codecs
    assert codecs.load("js") is json.dumps
    with pytest.raises(KeyError, match=r"unknown codec 'xml' \(codecs: json, repr\)"):
        codecs.load("xml")


def test_recipe_names_and_stage_names_import_no_part():
    script = ("import sys, json\nfrom trtbuild.build.registries import recipe_names\n"
              "from trtbuild.build.stages import STAGE_NAMES\nrecipe_names()\nprint(json.dumps(sorted(sys.modules)))")
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                           check=True).stdout))
    parts = {p.target.partition(":")[0] for registry in REGISTRIES for p in registry.values()}
    assert not loaded & (parts | {"numpy", "torch", "onnx"})


def test_every_declared_part_loads_as_what_its_registry_promises():
    from trtbuild.backends.base import Backend
    from trtbuild.build.stages.base import Stage
    from trtbuild.models.base import ModelAdapter
    from trtbuild.runners.factory import RunnerKind
    from trtbuild.tasks.base import Task

    for registry, kind in ((STAGES, Stage), (TASKS, Task), (ADAPTERS, ModelAdapter)):
        assert all(issubclass(registry.load(name), kind) for name in registry)
    assert [STAGES.load(name).name for name in STAGES] == list(STAGES)  # a stage's name is its module's
    assert all(isinstance(BACKENDS.load(name), Backend) for name in BACKENDS)
    assert all(isinstance(RUNNERS.load(name), RunnerKind) for name in RUNNERS)


def test_a_helper_module_beside_the_tasks_is_no_task():
    modules = {info.name for info in pkgutil.iter_modules(trtbuild.tasks.__path__)}
    assert set(TASKS) < modules and "base" not in TASKS and "registry" not in TASKS
