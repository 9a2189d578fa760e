"""The process-wide changes trtbuild.core.interrupts makes, by name: with `hold_signals_during_imports` a Ctrl-C
that arrives while a module is being imported is raised once that import is complete; without it, it lands inside
the module, which is then never registered."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import importlib, sys
from trtbuild.core import interrupts

interrupts.handle_signals()
if sys.argv[1] == "held":
    interrupts.hold_signals_during_imports()
    interrupts.hold_signals_during_imports()  # a second call changes nothing
    assert importlib._bootstrap._find_and_load is not interrupts.PROCESS.importlib_find_and_load
try:
    import interrupted_module
except KeyboardInterrupt:
    print("KeyboardInterrupt", "interrupted_module" in sys.modules, interrupts.requested())
"""
MODULE = "import os, signal\nos.kill(os.getpid(), signal.SIGINT)\nfor _ in range(10 ** 5):\n    pass\nWHOLE = True\n"


def _run(tmp_path: Path, mode: str) -> str:
    (tmp_path / "interrupted_module.py").write_text(MODULE)
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(tmp_path), "PATH": ""}, check=True)
    return done.stdout.strip()


def test_a_ctrl_c_during_an_import_is_raised_once_the_module_is_whole(tmp_path):
    assert _run(tmp_path, "held") == "KeyboardInterrupt True True"


def test_without_it_the_ctrl_c_lands_inside_the_module(tmp_path):
    assert _run(tmp_path, "plain") == "KeyboardInterrupt False True"
