"""The command line's options, each declared once, and `@command`: the one error and Ctrl-C guard of every command.

A group of options is a dataclass whose fields are `Annotated` typer options. A command takes a group as one
parameter annotated with the group's class; `@command` puts the group's fields in the command's place (so typer
sees ordinary options) and hands the command one instance of the group. A new command declares its own options as
parameters and reuses the groups:

    @command()
    def predict(recipe: RecipeArg, model: RecipeOptions, frames: Annotated[Path, typer.Option(...)]) -> None: ...
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from trtbuild.core import interrupts
from trtbuild.core.errors import TrtbuildError, UsageError

RecipeArg = Annotated[str, typer.Argument(help="recipe name (see `trtbuild list`) or path to a .yaml file")]
Workspace = Annotated[int | None, typer.Option("--workspace", help="TensorRT workspace pool in MiB")]
Strict = Annotated[bool, typer.Option(
    "--strict", help="accuracy not measured (no --data) is an error, exit 1 (default: a warning)")]
OutRoot = Annotated[Path, typer.Option("--out", help="output root; artifacts land in OUT/<recipe>/")]
CacheDir = Annotated[Path | None, typer.Option("--cache-dir", envvar="TRTBUILD_CACHE_DIR",
                                               help="stage cache (default ~/.cache/trtbuild)")]
JsonOut = Annotated[bool, typer.Option("--json", help="print the report as JSON on stdout")]


@dataclass
class PrecisionOptions:
    precision: Annotated[list[str] | None, typer.Option(
        "--precision", help="fp32 | fp16 | bf16 | int8 (build: repeat for one engine each)")] = None
    fp16: Annotated[bool, typer.Option("--fp16", help="same as --precision fp16")] = False
    fp32: Annotated[bool, typer.Option("--fp32", help="same as --precision fp32")] = False
    int8: Annotated[bool, typer.Option("--int8", help="same as --precision int8")] = False
    calib: Annotated[Path | None, typer.Option(
        "--calib", help="int8 calibration images: a folder or a dataset YAML (its train split); 300+ recommended")] = None

    def chosen(self) -> str | None:
        picked = self.all()
        if len(picked) > 1:
            raise UsageError(f"conflicting precision options: {', '.join(picked)} (pick one)")
        return picked[0] if picked else None

    def all(self) -> list[str]:
        """Every precision asked for, once each, in order."""
        picked = [p for p, flag in (("fp16", self.fp16), ("fp32", self.fp32), ("int8", self.int8)) if flag]
        return list(dict.fromkeys([*picked, *(self.precision or [])]))

    def calibration_only(self) -> PrecisionOptions:
        """The options without a precision: a matrix names one per cell."""
        return PrecisionOptions(calib=self.calib)


@dataclass
class RecipeOptions:
    """What changes the recipe: the model's checkpoint, its images and any key."""

    weights: Annotated[Path | None, typer.Option(
        "--weights", help="checkpoint path (overrides model.weights)")] = None
    random_weights: Annotated[bool, typer.Option(
        "--random-weights", help="architecture only, no checkpoint")] = False
    sets: Annotated[list[str] | None, typer.Option("--set", help="override any recipe key: key.path=value")] = None
    data: Annotated[Path | None, typer.Option(
        "--data", envvar="TRTBUILD_DATA", help="Ultralytics dataset YAML (images + labels) or image folder for check, "
        "precision accuracy and verify; replaces the recipe's image keys")] = None
    holdout: Annotated[Path | None, typer.Option(
        "--holdout", help="images only reported and gated on (folder or dataset YAML: its val split); default: a "
        "share of --data (docs/int8.md)")] = None

    def overrides(self, precision: PrecisionOptions | None = None, workspace: int | None = None,
                  sets: list[str] = ()):
        """The recipe overrides; `sets` come after the user's --set (a command's own options win)."""
        from trtbuild.recipe.load import Overrides

        return Overrides(self.weights, self.random_weights, precision.chosen() if precision else None, workspace,
                         [*(self.sets or []), *sets], self.data, precision.calib if precision else None, self.holdout)


@dataclass
class OutputOptions:
    """Where a build writes and what it reuses."""

    force: Annotated[bool, typer.Option("--force", help="rerun every stage, ignoring the cache")] = False
    force_stage: Annotated[list[str] | None, typer.Option(
        "--force-stage", help="rerun this stage (repeatable)")] = None
    out: OutRoot = Path("engines")
    cache_dir: CacheDir = None
    json_out: JsonOut = False

    def build_options(self, **chosen):
        """The pipeline's BuildOptions with these outputs; `chosen`: the command's own (until, strict)."""
        from trtbuild.build.pipeline import BuildOptions

        return BuildOptions(force=self.force, force_stages=list(self.force_stage or []), out_root=self.out, **chosen)


@dataclass
class ClusterOptions:
    """Several engines at once (trtbuild.farm): one after another here, or as Ray tasks."""

    ray: Annotated[bool, typer.Option(
        "--ray", help="run the cells as Ray tasks on a local Ray instance (127.0.0.1 only)")] = False
    ray_address: Annotated[str | None, typer.Option(
        "--ray-address", help="join a running Ray cluster: auto | HOST:6379 | ray://HOST:10001 (implies --ray)")] = None
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="print the cells, where each would run and how many stages are cached; build nothing")] = False

    @property
    def asked(self) -> bool:
        return self.ray or self.ray_address is not None or self.dry_run

    def farm_options(self, output: OutputOptions, **chosen):
        from trtbuild.farm.run import FarmOptions

        return FarmOptions(output.build_options(**chosen), output.cache_dir, self.ray or self.ray_address is not None,
                           self.ray_address, self.dry_run)


GROUPS = (RecipeOptions, PrecisionOptions, OutputOptions, ClusterOptions)


def command_in(app: typer.Typer):
    """`@command(name)` for `app`: registers the function with its option groups spread out, behind the guard."""

    def command(name: str | None = None):
        def register(func):
            return app.command(name)(_spread_groups(func))

        return register

    return command


def _spread_groups(func):
    hints = typing.get_type_hints(func, include_extras=True)
    params, groups = [], {}
    for param in inspect.signature(func).parameters.values():
        annotation = hints[param.name]
        if annotation in GROUPS:
            groups[param.name] = annotation
            params += [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default,
                                         annotation=_group_hints(annotation)[f.name])
                       for f in dataclasses.fields(annotation)]
        else:
            params.append(param.replace(annotation=annotation, kind=inspect.Parameter.KEYWORD_ONLY))

    @functools.wraps(func)
    def run(**given):
        arguments = {name: value for name, value in given.items()
                     if not any(name in _field_names(g) for g in groups.values())}
        for name, group in groups.items():
            arguments[name] = group(**{f: given[f] for f in _field_names(group)})
        guarded(func, **arguments)

    run.__signature__ = inspect.Signature(params)
    run.__annotations__ = {p.name: p.annotation for p in params}
    return run


@functools.cache  # every command that takes a group spreads it: evaluate its annotations once
def _group_hints(group) -> dict:
    return typing.get_type_hints(group, include_extras=True)


def _field_names(group) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(group))


def guarded(func, **arguments) -> None:
    """Every command's errors end in one line: TrtbuildError -> `error: ...` and its exit code; Ctrl-C -> the
    interrupt's line (its message, if it carries one) and exit 130. Anything else is a bug and keeps its traceback."""
    try:
        func(**arguments)
    except TrtbuildError as exc:
        from rich.text import Text

        from trtbuild.build.console import stderr_console

        # Text, not markup: the message quotes user input and install hints such as 'trtbuild[tensorrt]'
        stderr_console().print(Text.assemble(("error:", "bold red"), f" {exc}"), highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt as exc:
        interrupts.say(str(exc) or "interrupted")  # no `error:` prefix and no summary: the user stopped it
        raise typer.Exit(130) from None
