"""Errors that end a command with a one-line message and a documented exit code."""


class TrtbuildError(Exception):
    """Base class; `exit_code` is what the CLI returns."""

    exit_code = 1

    def __init__(self, message: str, *, metrics: dict | None = None):
        super().__init__(message)
        self.metrics = metrics or {}


class UsageError(TrtbuildError):
    """Bad recipe, bad CLI value or a missing input file: the user must change something."""

    exit_code = 2


class StageFailed(TrtbuildError):
    """A stage ran and failed (tool error, parity or accuracy gate exceeded)."""

    exit_code = 1


class StageUnavailable(TrtbuildError):
    """A stage the command needs cannot run on this host (e.g. no TensorRT or no GPU)."""

    exit_code = 3


class CannotWrite(TrtbuildError):
    """An output or cache location is read-only, full or missing: the user must free space or pick another place."""

    exit_code = 1


class Interrupted(TrtbuildError):
    """Ctrl-C (SIGINT): the build stopped cleanly, nothing half-written kept."""

    exit_code = 130
