"""Each task declares its options once (TaskOptions); a bad value or an unknown name is one line naming it, its value
and what it takes. The runtime (load, model(frame, ...)) and `trtbuild predict`'s flags go through the same check:
tests/runtime/test_options.py."""

from __future__ import annotations

import pytest

from trtbuild.core.errors import UsageError
from trtbuild.recipe.schema import Recipe
from trtbuild.tasks.registry import create_task

NAMES = {"0": "person", "1": "bicycle", "2": "car"}


def _task(task: str, names: dict | None = None):
    recipe = Recipe.model_validate({"name": "m", "task": task, "model": {"adapter": "python"},
                                    "inputs": [{"name": "image", "shape": [1, 3, 8, 8]}],
                                    "export": {"output_names": ["out"]}})
    return create_task(recipe, {"names": names or {}})


def test_defaults_are_declared_once():
    assert _task("detect").settings().model_dump() == {"conf": 0.25, "iou": 0.7, "max_det": 300, "classes": None,
                                                       "agnostic": False}
    assert _task("classify").settings().k == 5
    assert _task("depth").settings().model_dump() == {}


@pytest.mark.parametrize(("task", "given", "message"), [
    ("detect", {"conf": 7}, "conf=7: input should be less than or equal to 1 (detect option: minimum confidence, "
                            "0 to 1)"),
    ("detect", {"iou": -0.1}, "iou=-0.1: input should be greater than or equal to 0 (detect option: NMS IoU"),
    ("detect", {"max_det": 0}, "max_det=0: input should be greater than or equal to 1 (detect option: most boxes"),
    ("detect", {"max_det": 2.5}, "max_det=2.5: input should be a valid integer"),
    ("detect", {"classes": [1, 7]}, "classes=[1, 7]: class 7 is not one of the model's 3 classes (0-2) (detect "
                                    "option: only these class ids"),
    ("detect", {"classes": "car"}, "classes='car': input should be a valid list"),
    ("detect", {"agnostic": "maybe"}, "agnostic='maybe': input should be a valid boolean"),
    ("detect", {"alpha": 1}, "alpha: not an option of the detect task (options: conf, iou, max_det, classes, "
                             "agnostic)"),
    ("classify", {"k": 0}, "k=0: input should be greater than or equal to 1 (classify option: classes ranked"),
    ("classify", {"conf": 0.5}, "conf: not an option of the classify task (options: k)"),
    ("depth", {"conf": 0.5}, "conf: not an option of the depth task (options: none)"),
])
def test_a_bad_option_is_one_line(task, given, message):
    with pytest.raises(UsageError) as raised:
        _task(task, NAMES).settings(**given)
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value), str(raised.value)


def test_classes_are_checked_against_names_only_when_the_model_has_them():
    assert _task("detect", NAMES).settings(classes=[0, 2]).classes == [0, 2]
    assert _task("detect").settings(classes=[79]).classes == [79]
