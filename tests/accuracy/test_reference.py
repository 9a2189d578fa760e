"""PyTorchReference, the one reference-vs-candidate loop: each feed reaches the consumer once, in order, with its
batch's image files and both runners' real outputs; a recorded reference replays exactly what a live one gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trtbuild.accuracy.reference import PyTorchReference
from trtbuild.data.feeds import random_feeds
from trtbuild.recipe import load_recipe
from trtbuild.runners.factory import torch_runner

RECIPE = """name: tiny
task: other
model: {adapter: python, options: {target: 'torchvision.models:resnet18', kwargs: {num_classes: 10}}}
inputs: [{name: image, shape: [2, 3, 32, 32]}]
export: {output_names: [logits]}
"""


def tiny_recipe(tmp_path: Path):
    (tmp_path / "tiny.yaml").write_text(RECIPE)
    return load_recipe(str(tmp_path / "tiny.yaml")).recipe


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, images, feed, reference, candidate):
        self.calls.append((images, feed, reference, candidate))


def test_each_feed_reaches_the_consumer_with_its_batch_images_and_both_outputs(tmp_path):
    recipe = tiny_recipe(tmp_path)
    feeds = random_feeds(recipe, 3)
    images = [tmp_path / f"{i}.jpg" for i in range(6)]  # batch 2: two files behind each feed
    consume = Recorder()
    ran = PyTorchReference(recipe, feeds, images).compare(torch_runner(recipe, "cpu"), consume)
    assert [call[0] for call in consume.calls] == [images[0:2], images[2:4], images[4:6]]
    assert [call[1] for call in consume.calls] == feeds
    for _, _, reference, candidate in consume.calls:  # the same seeded module on both sides
        assert reference["logits"].shape == (2, 10)
        np.testing.assert_array_equal(reference["logits"], candidate["logits"])
    assert len({call[2]["logits"].tobytes() for call in consume.calls}) == 3  # a different output per feed
    assert ran["reference"]["device"] == "cpu" and ran["reference"]["dtype"] == "float32"
    assert ran["candidate"]["runner"] == ran["reference"]["runner"]


def test_a_recorded_reference_replays_the_live_outputs_for_every_candidate(tmp_path):
    recipe = tiny_recipe(tmp_path)
    feeds = random_feeds(recipe, 2)
    live, replayed = Recorder(), Recorder()
    PyTorchReference(recipe, feeds).compare(torch_runner(recipe, "cpu"), live)
    reference = PyTorchReference(recipe, feeds)
    reference.record()
    for _ in range(2):  # the search's trials: the same reference outputs each time
        replayed.calls.clear()
        ran = reference.compare(torch_runner(recipe, "cpu"), replayed)
        assert [call[0] for call in replayed.calls] == [[], []]  # no image files given
        for (_, _, expected, _), (_, _, again, candidate) in zip(live.calls, replayed.calls):
            np.testing.assert_array_equal(expected["logits"], again["logits"])
            np.testing.assert_array_equal(expected["logits"], candidate["logits"])
    assert ran["reference"]["runner"] == "torch" and ran["reference"]["device"] == "cpu"
