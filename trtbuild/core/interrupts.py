"""Ctrl-C for the command line: the first one stops the build, later ones are ignored, and it gets one line.

Signals belong to the process, so both changes are made by name at its entry (trtbuild.__main__: `handle_signals`,
`hold_signals_during_imports`) and what this module keeps is one object, `PROCESS`. The first SIGINT raises
KeyboardInterrupt as usual; the pipeline turns it into one line and removes the stage's
half-written files. Ignoring further ones lets that clean-up finish instead of dying halfway with a traceback.
SIGTERM (what a cancelled CI job, `docker stop`, systemd or `kill` send first) takes the same path and exit code 130,
so a stopped CI build leaves the cache as clean as a stopped interactive one.

Two things a KeyboardInterrupt raised at an arbitrary line must never do, and why they cannot:
- land inside an import. A stage imports onnx, torch, ... when it starts, so that is where a Ctrl-C at the start of
  a stage lands; stopping a C-extension library halfway through its initialisation leaves it half-registered (its
  C++ side holds objects of a module that no longer exists), which can crash the process later (SIGSEGV, nothing on
  stderr), and library code on that path may swallow the exception. `hold_signals_during_imports()` makes every
  import run with the signals held, so the interrupt is raised in the importing code once the import is complete.
- get lost. Library code that catches BaseException can swallow it, and since later Ctrl-C are ignored the build
  would run to its end; `requested()` stays true, and the pipeline stops when the stage returns.
"""

from __future__ import annotations

import importlib
import signal
import sys
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class ProcessState:
    """What this module keeps for the whole process (signals are per process), in one place."""

    requested: bool = False  # a SIGINT or SIGTERM arrived, even if its KeyboardInterrupt was swallowed
    said: bool = False  # its one line was printed
    holding: bool = False  # inside held(): signals are caught and replayed when it ends
    importlib_find_and_load: Callable | None = None  # importlib's own, once hold_signals_during_imports replaced it


PROCESS = ProcessState()


def _first_interrupt_only(signum, frame) -> None:
    PROCESS.requested = True
    ignore()
    raise KeyboardInterrupt


def handle_signals() -> None:
    """For the whole process: the first SIGINT or SIGTERM raises KeyboardInterrupt, later ones are ignored."""
    for received in SIGNALS:
        signal.signal(received, _first_interrupt_only)


def requested() -> bool:
    """Whether a Ctrl-C (or SIGTERM) has arrived, even if the KeyboardInterrupt it raised was swallowed."""
    return PROCESS.requested


def ignore() -> None:
    for received in SIGNALS:
        signal.signal(received, signal.SIG_IGN)


def say(message: str) -> None:
    """Print the interrupt's one line; later calls print nothing (a fallback may try again)."""
    if not PROCESS.said:
        PROCESS.said = True
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


@contextmanager
def held():
    """Hold Ctrl-C and SIGTERM for a short critical section (swapping fds 1/2, importing modules whose import-time
    code would turn a KeyboardInterrupt into another error); a signal that came meanwhile goes to the previous handler
    after."""
    if PROCESS.holding or threading.current_thread() is not threading.main_thread():  # only it gets signals
        yield
        return
    caught = []
    previous = {s: signal.signal(s, lambda *received: caught.append(received)) for s in SIGNALS}
    PROCESS.holding = True
    try:
        yield
    finally:
        PROCESS.holding = False
        for received, handler in previous.items():
            signal.signal(received, handler)
        if caught:
            signum = caught[0][0]
            if callable(previous[signum]):
                previous[signum](*caught[0])
            elif previous[signum] == signal.SIG_DFL:  # SIGTERM before handle_signals(): terminate, as it would have
                signal.raise_signal(signum)


def hold_signals_during_imports() -> None:
    """For the whole process: replaces `importlib._bootstrap._find_and_load`, which importlib calls for each module
    not yet in sys.modules (`import` statements, from C, and importlib.import_module alike), with one that runs under
    held(); the interrupt is raised once the outermost import is complete and its module registered. The original
    stays in PROCESS.importlib_find_and_load; a second call changes nothing."""
    bootstrap = importlib._bootstrap
    if PROCESS.importlib_find_and_load is not None:
        return
    PROCESS.importlib_find_and_load = find_and_load = bootstrap._find_and_load

    def find_and_load_held(*args, **kwargs):
        with held():
            return find_and_load(*args, **kwargs)

    bootstrap._find_and_load = find_and_load_held
