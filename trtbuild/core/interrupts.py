"""Ctrl-C for the command line: the first one stops the build, later ones are ignored, and it gets one line.

The first SIGINT raises KeyboardInterrupt as usual; the pipeline turns it into one line and removes the stage's
half-written files. Ignoring further ones lets that clean-up finish instead of dying halfway with a traceback.
SIGTERM (what a cancelled CI job, `docker stop`, systemd or `kill` send first) takes the same path and exit code 130,
so a stopped CI build leaves the cache as clean as a stopped interactive one.

Two things a KeyboardInterrupt raised at an arbitrary line must never do, and why they cannot:
- land inside an import. A stage imports onnx, torch, ... when it starts, so that is where a Ctrl-C at the start of
  a stage lands; stopping a C-extension library halfway through its initialisation leaves it half-registered (its
  C++ side holds objects of a module that no longer exists), which can crash the process later (SIGSEGV, nothing on
  stderr), and library code on that path may swallow the exception. `install()` makes every import run with the
  signals held (`_whole_imports`), so the interrupt is raised in the importing code once the import is complete.
- get lost. Library code that catches BaseException can swallow it, and since later Ctrl-C are ignored the build
  would run to its end; `requested()` stays true, and the pipeline stops when the stage returns.
"""

from __future__ import annotations

import importlib
import signal
import sys
import threading
from contextlib import contextmanager

_said = False
_requested = False
_holding = False
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _first_interrupt_only(signum, frame) -> None:
    global _requested
    _requested = True
    ignore()
    raise KeyboardInterrupt


def install() -> None:
    for received in SIGNALS:
        signal.signal(received, _first_interrupt_only)
    _whole_imports()


def requested() -> bool:
    """Whether a Ctrl-C (or SIGTERM) has arrived, even if the KeyboardInterrupt it raised was swallowed."""
    return _requested


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
    global _holding
    if _holding or threading.current_thread() is not threading.main_thread():  # only the main thread gets signals
        yield
        return
    caught = []
    previous = {s: signal.signal(s, lambda *received: caught.append(received)) for s in SIGNALS}
    _holding = True
    try:
        yield
    finally:
        _holding = False
        for received, handler in previous.items():
            signal.signal(received, handler)
        if caught:
            signum = caught[0][0]
            if callable(previous[signum]):
                previous[signum](*caught[0])
            elif previous[signum] == signal.SIG_DFL:  # SIGTERM before install(): terminate, as it would have
                signal.raise_signal(signum)



def _whole_imports() -> None:
    """Every import that loads a module runs with the signals held; the interrupt is raised once the outermost import
    is complete and its module registered. importlib calls `_bootstrap._find_and_load` for each module not yet in
    sys.modules, for `import` statements (from C) and importlib.import_module alike."""
    bootstrap = importlib._bootstrap
    find_and_load = bootstrap._find_and_load
    if getattr(find_and_load, "held", False):
        return

    def find_and_load_held(*args, **kwargs):
        with held():
            return find_and_load(*args, **kwargs)

    find_and_load_held.held = True
    bootstrap._find_and_load = find_and_load_held
