"""Ctrl-C for the command line: the first one stops the build, later ones are ignored, and it gets one line.

The first SIGINT raises KeyboardInterrupt as usual; the pipeline turns it into one line and removes the stage's
half-written files. Ignoring further ones lets that clean-up finish instead of dying halfway with a traceback.
SIGTERM (what a cancelled CI job, `docker stop`, systemd or `kill` send first) takes the same path and exit code 130,
so a stopped CI build leaves the cache as clean as a stopped interactive one.
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager

_said = False
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _first_interrupt_only(signum, frame) -> None:
    ignore()
    raise KeyboardInterrupt


def install() -> None:
    for received in SIGNALS:
        signal.signal(received, _first_interrupt_only)


def ignore() -> None:
    for received in SIGNALS:
        signal.signal(received, signal.SIG_IGN)


def say(message: str) -> None:
    """Print the interrupt's one line; later calls print nothing (a fallback may try again)."""
    global _said
    if not _said:
        _said = True
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


@contextmanager
def held():
    """Hold Ctrl-C and SIGTERM for a short critical section (swapping fds 1/2, importing modules whose import-time
    code would turn a KeyboardInterrupt into another error); a signal that came meanwhile goes to the previous handler
    after."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread gets signals
        yield
        return
    caught = []
    previous = {s: signal.signal(s, lambda *received: caught.append(received)) for s in SIGNALS}
    try:
        yield
    finally:
        for received, handler in previous.items():
            signal.signal(received, handler)
        if caught:
            signum = caught[0][0]
            if callable(previous[signum]):
                previous[signum](*caught[0])
            elif previous[signum] == signal.SIG_DFL:  # SIGTERM before install(): terminate, as it would have
                signal.raise_signal(signum)
