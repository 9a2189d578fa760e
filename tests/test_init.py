"""The package's public face (trtbuild/__init__.py): `import trtbuild` stays light, `trtbuild.load` comes on first use."""

from __future__ import annotations

import subprocess
import sys


def test_import_is_light_and_load_is_the_runtimes():
    code = """
import sys
import trtbuild
assert not {"numpy", "trtbuild.runtime.model"} & set(sys.modules), "import trtbuild imported more than itself"
from trtbuild import load
from trtbuild.runtime import model
assert load is trtbuild.load is model.load
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
