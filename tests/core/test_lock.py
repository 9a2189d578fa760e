"""requirements.lock itself (installs under the torch cap some hosts have, every pin hash-checked) and trtbuild.core.lock."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from conftest import REPO
from trtbuild.core.lock import LOCK_NAME, lock_status, locked_pins, repo_lock

LOCK = REPO / LOCK_NAME
# Hosts here cap pip at these (their local wheel indexes end there); a lock above them cannot install on such a host.
HOST_CAP = ["torch<=2.14.1", "torchvision<=0.29.1"]
HOST_CONSTRAINTS = Path("/etc/xdg/pip/constraints.txt")  # this host's own cap, where it has one


def lock_blocks(text: str) -> dict[str, str]:
    """Each pinned line of the lock -> the text of its block (the pin, its --hash lines and `# via` comments)."""
    starts = [m.start() for m in re.finditer(r"^[A-Za-z0-9]", text, re.MULTILINE)]
    blocks = [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)])]
    return {block.splitlines()[0].rstrip(" \\"): block for block in blocks}


def caps() -> list[Requirement]:
    lines = list(HOST_CAP)
    if HOST_CONSTRAINTS.is_file():
        lines += [line for line in HOST_CONSTRAINTS.read_text().splitlines() if line.strip()[:1].isalnum()]
    return [Requirement(line) for line in lines]


def test_lock_pins_every_package_with_hashes():
    blocks = lock_blocks(LOCK.read_text())
    assert len(blocks) > 50
    for pin, block in blocks.items():
        assert "==" in pin, f"{pin}: not pinned"
        assert "--hash=sha256:" in block, f"{pin}: no hash, so `pip install --require-hashes` would refuse the lock"


def test_lock_installs_under_the_host_torch_cap():
    pins = locked_pins(LOCK.read_text())
    assert {"torch", "torchvision", "onnxruntime", "tensorrt-rtx-cu13-bindings", "pytest", "pip-tools"} <= set(pins)
    for cap in caps():
        assert pins[cap.name] in cap.specifier, f"lock pins {cap.name}=={pins[cap.name]}, outside the cap {cap}"


def test_locked_pins_reads_pip_compile_lines():
    text = ("# comment\n--extra-index-url file:///x\nnumpy==2.4.6 \\\n    --hash=sha256:abc\n    # via torch\n"
            "cuda-toolkit[cublas]==13.0.3.0 \\\n    --hash=sha256:def\n"
            'pywin32==311 ; sys_platform == "win32" \\\n    --hash=sha256:123\n')
    assert locked_pins(text) == {"numpy": "2.4.6", "cuda-toolkit": "13.0.3.0"}


def test_lock_status_names_each_package_that_differs(tmp_path):
    pytest_version = metadata.version("pytest")
    lock = tmp_path / LOCK_NAME
    lock.write_text(f"pytest=={pytest_version} \\\n    --hash=sha256:0\ntorch==0.0.1 \\\n    --hash=sha256:0\n"
                    "no-such-dist-trtbuild==1.0 \\\n    --hash=sha256:0\n")
    status = lock_status(lock)
    assert status["status"] == "2 of 3 differ"
    assert status["differ"] == {"no-such-dist-trtbuild": "installed none, lock 1.0",
                                "torch": f"installed {metadata.version('torch')}, lock 0.0.1"}
    lock.write_text(f"pytest=={pytest_version}\n")
    assert lock_status(lock) == {"file": str(lock), "status": "matches (1 packages)", "differ": {}}


def test_repo_checkout_finds_its_lock():
    assert repo_lock() == LOCK


def test_package_outside_a_checkout_says_no_lock_file(tmp_path):
    """trtbuild as a library (its package directory in site-packages, not in the repo): no lock to compare with."""
    shutil.copytree(REPO / "trtbuild", tmp_path / "site" / "trtbuild", ignore=shutil.ignore_patterns("__pycache__"))
    probe = "import json, trtbuild.core.lock as m; print(json.dumps([m.__file__, m.lock_status()]))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(tmp_path / "site")})
    module_file, status = json.loads(out.stdout)
    assert module_file.startswith(str(tmp_path))
    assert status == {"file": None, "status": "no lock file (not a repo checkout)", "differ": {}}


def test_doctor_reports_the_lock():
    out = subprocess.run([str(Path(sys.executable).parent / "trtbuild"), "doctor", "--json"], capture_output=True,
                         text=True, timeout=300, cwd=REPO)
    assert out.returncode == 0, out.stderr
    lock = json.loads(out.stdout)["lock"]
    assert lock["file"] == str(LOCK)
    assert lock["status"] == lock_status()["status"]


def test_report_json_says_whether_the_lock_matches(yolo_export):
    _, _, engines = yolo_export
    report = json.loads((engines / "yolo12n" / "report.json").read_text())
    assert report["lock"] == lock_status()
    assert report["lock"]["file"] == str(LOCK)


def test_versions_read_from_folder_names_are_the_metadata_versions():
    """lock_status takes a pin as matched when its dist-info folder's name says the locked version (no METADATA read);
    for every pinned package installed here that is the version importlib.metadata reads."""
    from trtbuild.core.lock import _listed_versions, _normalized

    listed = _listed_versions()
    for name in locked_pins(LOCK.read_text()):
        try:
            assert listed[_normalized(name)] == metadata.version(name), name
        except metadata.PackageNotFoundError:
            assert _normalized(name) not in listed
