"""Ctrl-C for the command line: the first one stops the build, later ones are ignored.

The first SIGINT raises KeyboardInterrupt as usual; the pipeline turns it into one line and removes the stage's
half-written files. Ignoring further ones lets that clean-up finish instead of dying halfway with a traceback.
"""

from __future__ import annotations

import signal


def _first_interrupt_only(signum, frame) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def install() -> None:
    signal.signal(signal.SIGINT, _first_interrupt_only)
