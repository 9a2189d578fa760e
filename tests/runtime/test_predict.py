"""`trtbuild predict` as a user runs it: real processes over real images and videos; a bad input is passed over,
Ctrl-C and a full disk keep whole files, every mistake is one line."""

from __future__ import annotations

import json
import resource
import shutil
import signal
import subprocess
import sys
import time

import cv2
import numpy as np

from conftest import ASSETS
from reliability.builds import invoke_cli, stderr_lines
from trtbuild import api

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


def test_bad_input_is_one_line_and_leaves_nothing(yolo_engines, tmp_path, capfd, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_file").write_text("")
    cases = [((str(yolo_engines), "--source", str(tmp_path / "nope")), "no such image, folder, video or glob"),
             ((str(tmp_path), "--source", str(VAL)), "no engines.json"),
             ((str(yolo_engines), "--source", str(VAL), "--runtime", "tf"), "runtime='tf': one of auto"),
             ((str(yolo_engines), "--source", str(VAL), "--conf", "7"),
              "conf=7.0: input should be less than or equal to 1 (detect option: minimum confidence, 0 to 1)"),
             ((str(yolo_engines), "--source", str(VAL), "--classes", "99"),
              "classes=[99]: class 99 is not one of the model's 80 classes (0-79)"),
             ((str(yolo_engines), "--source", str(VAL), "--save-dir", "a_file/out"),
              "--save-dir a_file/out: a_file is a file, not a folder; choose another --save-dir")]
    for args, message in cases:
        code, lines = invoke_cli(["predict", *args], capfd)
        assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"], "nothing written"


def _unreadable(folder):
    (folder / "zz_random.jpg").write_bytes(bytes(range(256)) * 8)
    (folder / "zz_empty.png").write_bytes(b"")


def test_a_folder_goes_on_past_unreadable_images(yolo_engines, tmp_path, capfd):
    frames = tmp_path / "frames"
    frames.mkdir()
    shutil.copy(VAL / "000000000036.jpg", frames)
    _unreadable(frames)
    code, lines = invoke_cli(["predict", str(yolo_engines), "--source", str(frames), "--save-dir",
                              str(tmp_path / "out")], capfd)
    assert code == 1
    assert lines[:2] == [f"warning: {frames / 'zz_empty.png'}: not a readable image (.bmp, .jpeg, .jpg, .png, .webp)",
                         f"warning: {frames / 'zz_random.jpg'}: not a readable image (.bmp, .jpeg, .jpg, .png, .webp)"]
    assert lines[2].startswith("1 frames in") and lines[2].endswith(", 2 inputs failed")
    assert lines[-1] == (f"error: 2 inputs could not be read (each named above and in {tmp_path / 'out'}/"
                         "results.jsonl); the other frames' results are kept")
    records = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert [(r["frame"], "error" in r) for r in records] == [
        ("000000000036.jpg", False), ("zz_empty.png", True), ("zz_random.jpg", True)]
    assert records[0]["detections"] and cv2.imread(str(tmp_path / "out" / "000000000036.jpg")) is not None
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["000000000036.jpg", "results.jsonl"]


def test_classification_and_depth_go_on_past_unreadable_images(classify_engines, depth_engines, tmp_path, capfd):
    frames = tmp_path / "frames"
    frames.mkdir()
    shutil.copy(VAL / "000000000036.jpg", frames)
    _unreadable(frames)
    for engines, view in ((classify_engines, []), (depth_engines, ["000000000036.jpg"])):
        out = tmp_path / engines.name
        code, lines = invoke_cli(["predict", str(engines), "--source", str(frames), "--save-dir", str(out)], capfd)
        assert code == 1 and lines[-1].startswith("error: 2 inputs could not be read"), lines
        records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
        assert ["error" in r for r in records] == [False, True, True]
        assert sorted(p.name for p in out.iterdir()) == [*view, "results.jsonl"]
    assert "top5" in records[0] or "depth" in records[0]
    code, lines = invoke_cli(["predict", str(depth_engines), "--source", str(frames), "--conf", "0.5"], capfd)
    assert (code, lines) == (2, ["error: conf: not an option of the depth task (options: none)"])


def _video(path, frames: int) -> None:
    """Noise, so that each frame takes room in the file and half the file holds about half the frames."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    noise = np.random.default_rng(0)
    for _ in range(frames):
        writer.write(noise.integers(0, 255, (48, 64, 3), np.uint8))
    writer.release()


def test_a_video_shorter_than_its_container_states_is_reported(yolo_engines, tmp_path, capfd):
    _video(tmp_path / "clip.avi", 20)
    data = (tmp_path / "clip.avi").read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[: len(data) // 2])  # a download cut short: the header still says 20
    code, lines = invoke_cli(["predict", str(yolo_engines), "--source", str(tmp_path / "cut.avi"), "--save-dir",
                              str(tmp_path / "out"), "--no-save"], capfd)
    read = len((tmp_path / "out" / "results.jsonl").read_text().splitlines())
    assert code == 1 and 0 < read < 20
    assert f"warning: {tmp_path / 'cut.avi'}: ended after {read} of the 20 frames its container states" in lines


def _spawn(args, cwd, **options) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "trtbuild", "predict", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **options)


def _whole_lines(path) -> list[dict]:
    text = path.read_text()
    assert text.endswith("\n"), "the last line is whole"
    return [json.loads(line) for line in text.splitlines()]


def test_a_full_disk_keeps_whole_lines_and_says_so(yolo_engines, tmp_path):
    """A file-size limit (RLIMIT_FSIZE: the kernel's EFBIG, what a full disk's ENOSPC is to the writer) that
    results.jsonl reaches after two and a half lines."""
    whole = api.predict(str(yolo_engines), str(VAL), tmp_path / "whole", save_images=False).save_dir
    lines = (whole / "results.jsonl").read_text().splitlines(keepends=True)
    limit = len("".join(lines[:2])) + len(lines[2]) // 2

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = _spawn([str(yolo_engines), "--source", str(VAL), "--no-save"], tmp_path, preexec_fn=limited)
    _, err = done.communicate(timeout=300)
    save = tmp_path / "runs" / "predict" / "yolo12n"
    assert done.returncode == 1 and stderr_lines(err) == [
        f"error: no room to write {save.relative_to(tmp_path)} (File too large): 2 of 4 frames' results are kept "
        f"in {save.relative_to(tmp_path)} (whole images and results.jsonl lines only); free space and run again"], err
    assert _whole_lines(save / "results.jsonl") == [json.loads(line) for line in lines[:2]]


def test_ctrl_c_keeps_what_finished_and_says_so(yolo_engines, tmp_path):
    _video(tmp_path / "long.avi", 400)
    running = _spawn([str(yolo_engines), "--source", str(tmp_path / "long.avi")], tmp_path)
    save = tmp_path / "runs" / "predict" / "yolo12n"
    partial = save.parent / f".yolo12n.partial-{running.pid}" / "results.jsonl"
    deadline = time.monotonic() + 180
    while not (partial.is_file() and partial.read_text().count("\n") >= 3):
        assert running.poll() is None and time.monotonic() < deadline, running.stderr.read()
        time.sleep(0.05)
    running.send_signal(signal.SIGINT)
    _, err = running.communicate(timeout=120)
    records = _whole_lines(save / "results.jsonl")
    assert running.returncode == 130 and stderr_lines(err) == [
        f"interrupted: {len(records)} of 400 frames' results are kept in {save.relative_to(tmp_path)} (whole images "
        "and results.jsonl lines only)"], err
    assert 3 <= len(records) < 400
    assert sorted(p.name for p in save.iterdir()) == sorted([*(f"{r['frame']}.jpg" for r in records), "results.jsonl"])
    assert all(cv2.imread(str(save / f"{r['frame']}.jpg")) is not None for r in records)
