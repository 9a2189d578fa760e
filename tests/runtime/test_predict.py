"""`trtbuild predict` as a user runs it: a real process over real images, whole outputs or none."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import cv2

from conftest import ASSETS

VAL = ASSETS / "coco8" / "images" / "val"


def _predict(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trtbuild", "predict", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_a_folder_gives_views_and_json_lines_and_never_overwrites(yolo_engines, tmp_path):
    done = _predict(str(yolo_engines), "--source", str(VAL), "--conf", "0.5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    save = tmp_path / "runs" / "predict" / "yolo12n"
    assert done.stdout.strip() == str(save.relative_to(tmp_path))
    lines = [json.loads(line) for line in (save / "results.jsonl").read_text().splitlines()]
    assert [line["frame"] for line in lines] == sorted(p.name for p in VAL.glob("*.jpg"))
    assert all(d["score"] >= 0.5 for line in lines for d in line["detections"])
    first = cv2.imread(str(save / lines[0]["frame"]))
    assert first.shape[:2] == tuple(lines[0]["shape"])
    assert _predict(str(yolo_engines), "--source", str(VAL), "--no-save", cwd=tmp_path).returncode == 0
    assert sorted(p.name for p in (save.parent).iterdir()) == ["yolo12n", "yolo12n2"]
    assert [p.name for p in (save.parent / "yolo12n2").iterdir()] == ["results.jsonl"]


def test_bad_input_is_one_line_and_leaves_nothing(yolo_engines, tmp_path):
    frames = tmp_path / "frames"
    shutil.copytree(VAL, frames)
    (frames / "zzz_broken.jpg").write_bytes(b"not an image")  # read after the good ones
    cases = [((str(yolo_engines), "--source", str(frames)), "zzz_broken.jpg: not a readable image"),
             ((str(yolo_engines), "--source", str(tmp_path / "nope")), "no such image, folder, video or glob"),
             ((str(tmp_path), "--source", str(VAL)), "no engines.json"),
             ((str(yolo_engines), "--source", str(VAL), "--runtime", "tf"), "runtime='tf': one of auto")]
    for args, message in cases:
        done = _predict(*args, cwd=tmp_path)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs" / "predict").iterdir())
