"""Send everything a stage's tools print (Python and C/C++ alike) to the stage's log file."""

from __future__ import annotations

import io
import logging
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from trtbuild.core import interrupts


class _FdStream(io.TextIOBase):
    """A text stream that writes straight to a file descriptor number.

    Stands in for sys.stdout/sys.stderr during a stage: Python-level writes then follow the fd redirect even when
    sys.stdout was not fd-backed (pytest, notebooks), and a logging handler created meanwhile (Ultralytics binds one
    to sys.stdout at import) keeps working after the stage, writing to whatever the fd is then.
    """

    def __init__(self, fd: int):
        self._fd = fd

    def write(self, text: str) -> int:
        os.write(self._fd, text.encode(errors="replace"))
        return len(text)

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return False


def _console_handlers(streams: tuple) -> list[tuple[logging.StreamHandler, object]]:
    """Logging handlers bound to the current sys.stdout/sys.stderr objects (e.g. Ultralytics' LOGGER, created at
    import): they hold those objects, not the file descriptors, so they must be pointed at the redirect too."""
    loggers = [logging.getLogger(), *(lg for lg in logging.Logger.manager.loggerDict.values()
                                      if isinstance(lg, logging.Logger))]
    return [(h, h.stream) for lg in loggers for h in lg.handlers
            if isinstance(h, logging.StreamHandler) and any(h.stream is s for s in streams)]


@contextmanager
def output_to(log_path: Path):
    """Redirect file descriptors 1 and 2 (what onnxsim, torch and TensorRT write to) into `log_path`."""
    streams = sys.stdout, sys.stderr
    redirected = None
    try:
        with interrupts.held():
            for stream in streams:
                stream.flush()
            handlers = _console_handlers(streams)
            log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)  # may fail: nothing changed yet
            saved = os.dup(1), os.dup(2)
            os.dup2(log_fd, 1)
            os.dup2(log_fd, 2)
            sys.stdout, sys.stderr = _FdStream(1), _FdStream(2)
            for handler, stream in handlers:
                handler.setStream(_FdStream(1 if stream is streams[0] else 2))
            redirected = handlers, saved, log_fd
        yield
    finally:
        if redirected:
            with interrupts.held():
                _restore(streams, *redirected)


def _restore(streams: tuple, handlers: list, saved: tuple[int, int], log_fd: int) -> None:
    for handler, stream in handlers:
        handler.setStream(stream)
    sys.stdout, sys.stderr = streams
    os.dup2(saved[0], 1)
    os.dup2(saved[1], 2)
    for fd in (*saved, log_fd):
        os.close(fd)
