"""`@command`: option groups become ordinary options and come back as one object; every command ends an error in
one line with its exit code and a Ctrl-C in one line with 130. A throwaway app, so no real command is needed."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from trtbuild.core import interrupts
from trtbuild.cli import app as trtbuild_app
from trtbuild.cli_options import OutputOptions, PrecisionOptions, RecipeArg, RecipeOptions, command_in
from trtbuild.core.errors import StageUnavailable

app = typer.Typer()
command = command_in(app)
seen = {}


@command("take")
def take(recipe: RecipeArg, model: RecipeOptions, precision: PrecisionOptions, output: OutputOptions,
         fail: bool = False, stop: bool = False) -> None:
    if fail:
        raise StageUnavailable("engine: no engine backend can build here")
    if stop:
        raise KeyboardInterrupt
    seen.update(recipe=recipe, overrides=model.overrides(precision, 512, ["a=1"]), output=output)


@command("other")
def other() -> None:
    """Typer runs a single command as the app itself; a second one keeps `take` a subcommand."""


def test_groups_are_options_and_come_back_as_one_object():
    done = CliRunner().invoke(app, ["take", "r", "--weights", "w.pt", "--set", "x=2", "--fp16", "--calib", "c",
                                    "--force-stage", "check", "--out", "o"])
    assert done.exit_code == 0, done.output
    overrides, output = seen["overrides"], seen["output"]
    assert (overrides.weights, overrides.precision, overrides.workspace_mib, overrides.sets, overrides.calib) == \
        (Path("w.pt"), "fp16", 512, ["x=2", "a=1"], Path("c"))  # the command's own --set entries come last
    assert (output.force_stage, output.out, output.build_options(until="check").force_stages) == \
        (["check"], Path("o"), ["check"])


def test_conflicting_precision_flags_are_one_line(capfd):
    done = CliRunner().invoke(app, ["take", "r", "--fp16", "--int8"])
    assert done.exit_code == 2
    assert capfd.readouterr().err.strip() == "error: conflicting precision options: fp16, int8 (pick one)"


def test_errors_and_ctrl_c_are_one_line_in_every_command(capfd, monkeypatch):
    done = CliRunner().invoke(app, ["take", "r", "--fail"])
    assert done.exit_code == 3
    assert capfd.readouterr().err.strip() == "error: engine: no engine backend can build here"
    monkeypatch.setattr(interrupts.PROCESS, "said", False)
    done = CliRunner().invoke(app, ["take", "r", "--stop"])
    assert done.exit_code == 130 and done.stderr.strip() == "interrupted"  # interrupts.say writes sys.stderr


def test_every_trtbuild_command_is_guarded():
    commands = [*trtbuild_app.registered_commands,
                *(c for group in trtbuild_app.registered_groups for c in group.typer_instance.registered_commands)]
    assert len(commands) >= 12 and all(getattr(c.callback, "__wrapped__", None) for c in commands)
