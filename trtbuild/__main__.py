"""`python -m trtbuild` and the `trtbuild` command: Ctrl-C is handled before the CLI's imports (half a second)."""

from trtbuild.core import interrupts


def main() -> None:
    # this process's Ctrl-C and SIGTERM: one line and exit 130, and never inside an import (trtbuild.core.interrupts)
    interrupts.handle_signals()
    interrupts.hold_signals_during_imports()
    try:
        with interrupts.held():  # pydantic turns a KeyboardInterrupt while it builds a model class into SchemaError
            from trtbuild.cli import main as cli_main
    except KeyboardInterrupt:
        interrupts.say("interrupted during start-up; nothing was written")
        raise SystemExit(130) from None
    cli_main()


if __name__ == "__main__":
    main()
