"""`python -m trtbuild` and the `trtbuild` command: Ctrl-C is handled before the CLI's imports (half a second)."""

import sys

from trtbuild import interrupts


def main() -> None:
    interrupts.install()
    try:
        from trtbuild.cli import main as cli_main
    except KeyboardInterrupt:
        sys.stderr.write("interrupted during start-up; nothing was written\n")
        raise SystemExit(130) from None
    cli_main()


if __name__ == "__main__":
    main()
