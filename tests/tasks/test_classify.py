"""The classify task's decoding and metrics on known logits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trtbuild.recipe.schema import Recipe
from trtbuild.build.registries import recipe_names
from trtbuild.tasks.classify import probabilities, top_k
from trtbuild.tasks.registry import create_task


def _recipe(**extra) -> Recipe:
    return Recipe.model_validate({"name": "cls", "task": "classify", "model": {"adapter": "python"},
                                  "inputs": [{"name": "image", "shape": [1, 3, 8, 8]}],
                                  "export": {"output_names": ["logits"]}, **extra})


def test_probabilities_and_top_k():
    logits = np.array([[0.0, 2.0, 1.0], [5.0, 5.0, -1.0]])
    probs = probabilities(logits)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert probabilities(probs) is not None and np.allclose(probabilities(probs), probs)  # already probabilities
    assert top_k(logits, 2).tolist() == [[1, 2], [0, 1]]  # a tie keeps the lower class id first


def test_results_with_names_and_k():
    task = create_task(_recipe(), {"names": {"0": "cat", "1": "dog", "2": "fox"}})
    frame = np.zeros((5, 7, 3), np.uint8)
    (result,) = task.results({"logits": np.array([[0.1, 3.0, 0.2]])}, [frame], k=2)
    assert result.classes.tolist() == [1] and result.shape == (5, 7) and result.names[1] == "dog"
    assert [c for c, _ in result.top5] == [1, 2] and result.to_dict()["top5"][0]["name"] == "dog"


def test_paired_agreement_and_folder_labels():
    accuracy = create_task(_recipe()).accuracy()
    reference = np.eye(6)[[0, 1, 2, 3]] * 5  # top-1: 0, 1, 2, 3
    candidate = reference.copy()
    candidate[3] = [0, 0, 4, 4.5, 0, 0]  # top-1 3 kept
    candidate[2] = [0, 0, 4, 0, 0, 4.5]  # top-1 moves to 5; 2 stays in its top-5
    images = [Path(f"/data/{label}/img{i}.jpg") for i, label in enumerate([0, 1, 9, 3])]
    accuracy.add(images, np.zeros((4, 3, 8, 8)), {"logits": reference}, {"logits": candidate})
    accuracy.evaluate()
    values = accuracy.values()
    assert values["top1_agreement_pct"] == 75.0 and values["top5_agreement_pct"] == 100.0
    assert values["top1"] == values["top1_pytorch"] == 75.0 and values["top1_drop_pct"] == 0.0
    assert accuracy.basis() == "labels"
    top1 = values["intervals"]["top1_agreement_pct"]  # Wilson's interval of 3 in 4, in percent like the value
    assert top1.value == 75.0 and top1.low == pytest.approx(30.06, abs=0.01) and top1.high == pytest.approx(95.44,
                                                                                                          abs=0.01)
    assert values["intervals"]["top5_agreement_pct"].high == 100.0 and top1.method == "wilson over 4 images"


def test_default_gate_and_unknown_task():
    assert [g.metric for g in create_task(_recipe()).gates()] == ["top1_agreement_pct"]
    with pytest.raises(ValueError, match=r"unknown task 'segment' \(tasks: classify, depth, detect, other\)"):
        Recipe.model_validate({"name": "x", "task": "segment", "model": {"adapter": "python"},
                               "inputs": [{"name": "i", "shape": [1]}]}, context={"names": recipe_names()})
