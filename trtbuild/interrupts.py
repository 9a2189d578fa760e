"""Ctrl-C for the command line: the first one stops the build, later ones are ignored, and it gets one line.

The first SIGINT raises KeyboardInterrupt as usual; the pipeline turns it into one line and removes the stage's
half-written files. Ignoring further ones lets that clean-up finish instead of dying halfway with a traceback.
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager

_said = False


def _first_interrupt_only(signum, frame) -> None:
    ignore()
    raise KeyboardInterrupt


def install() -> None:
    signal.signal(signal.SIGINT, _first_interrupt_only)


def ignore() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def say(message: str) -> None:
    """Print the interrupt's one line; later calls print nothing (a fallback may try again)."""
    global _said
    if not _said:
        _said = True
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


@contextmanager
def held():
    """Hold Ctrl-C for a short critical section (swapping fds 1/2, importing modules whose import-time code would
    turn a KeyboardInterrupt into another error); a signal that came meanwhile goes to the previous handler after."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread gets signals
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda *received: caught.append(received))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught and callable(previous):
            previous(*caught[0])
