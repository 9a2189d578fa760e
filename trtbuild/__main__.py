"""`python -m trtbuild` and the `trtbuild` command: Ctrl-C is handled before the CLI's imports (half a second)."""

import gc

from trtbuild.core import interrupts


def main() -> None:
    # this process's Ctrl-C and SIGTERM: one line and exit 130, and never inside an import (trtbuild.core.interrupts)
    interrupts.handle_signals()
    interrupts.hold_signals_during_imports()
    gc.disable()  # start-up imports: trtbuild.cli.collector_paused freezes what they made and turns it back on
    try:
        with interrupts.held():  # pydantic turns a KeyboardInterrupt while it builds a model class into SchemaError
            from trtbuild import cli
    except KeyboardInterrupt:
        interrupts.say("interrupted during start-up; nothing was written")
        raise SystemExit(130) from None
    cli.START_UP.collector_paused = True
    cli.main()


if __name__ == "__main__":
    main()
