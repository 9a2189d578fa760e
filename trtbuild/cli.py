"""The `trtbuild` command line: each command parses options and makes one call into `trtbuild.api`.

Exit codes: 0 ok, 1 a stage failed, 2 usage or recipe error, 3 a needed stage is unavailable on this host.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from trtbuild import __version__, api, interrupts
from trtbuild.errors import Interrupted, TrtbuildError, UsageError
from trtbuild.pipeline import BuildOptions
from trtbuild.recipe import STAGE_NAMES, Overrides

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Turn PyTorch vision models into validated TensorRT engines from one YAML recipe.")
cache_app = typer.Typer(no_args_is_help=True, help="Inspect or clean the stage cache.")
app.add_typer(cache_app, name="cache")

RecipeArg = Annotated[str, typer.Argument(help="recipe name (see `trtbuild list`) or path to a .yaml file")]
Weights = Annotated[Path | None, typer.Option("--weights", help="checkpoint path (overrides model.weights)")]
RandomWeights = Annotated[bool, typer.Option("--random-weights", help="architecture only, no checkpoint")]
Precision = Annotated[str | None, typer.Option("--precision", help="fp32 | fp16 | bf16 | int8")]
Fp16 = Annotated[bool, typer.Option("--fp16", help="same as --precision fp16")]
Fp32 = Annotated[bool, typer.Option("--fp32", help="same as --precision fp32")]
Int8 = Annotated[bool, typer.Option("--int8", help="same as --precision int8")]
Workspace = Annotated[int | None, typer.Option("--workspace", help="TensorRT workspace pool in MiB")]
Sets = Annotated[list[str] | None, typer.Option("--set", help="override any recipe key: key.path=value")]
Data = Annotated[Path | None, typer.Option(
    "--data", envvar="TRTBUILD_DATA", help="Ultralytics dataset YAML (images + labels) or image folder for check, "
    "precision accuracy and verify; replaces the recipe's image keys")]
Calib = Annotated[Path | None, typer.Option(
    "--calib", help="int8 calibration images: a folder or a dataset YAML (its train split); 300+ recommended")]
Strict = Annotated[bool, typer.Option(
    "--strict", help="accuracy not measured (no --data) is an error, exit 1 (default: a warning)")]
Until = Annotated[str, typer.Option("--until", help=f"last stage to run ({' | '.join(STAGE_NAMES)})")]
Force = Annotated[bool, typer.Option("--force", help="rerun every stage, ignoring the cache")]
ForceStage = Annotated[list[str] | None, typer.Option("--force-stage", help="rerun this stage (repeatable)")]
OutRoot = Annotated[Path, typer.Option("--out", help="output root; artifacts land in OUT/<recipe>/")]
CacheDir = Annotated[Path | None, typer.Option("--cache-dir", envvar="TRTBUILD_CACHE_DIR",
                                               help="stage cache (default ~/.cache/trtbuild)")]
JsonOut = Annotated[bool, typer.Option("--json", help="print the report as JSON on stdout")]
VerifyRunner = Annotated[str | None, typer.Option(
    "--runner", help="candidate: auto (engine if built, else ONNX Runtime) | onnxruntime | tensorrt")]
BenchRunners = Annotated[list[str] | None, typer.Option(
    "--runner", help="runner to time (repeatable): torch | onnxruntime | tensorrt (default: recipe bench.runners)")]
Duration = Annotated[float | None, typer.Option(
    "--duration", help="seconds per runner (600 = stability run with memory slope)", min=0.001)]


def main() -> None:
    interrupts.install()
    try:
        app()
    except KeyboardInterrupt:  # while typer builds the commands from their signatures
        interrupts.say("interrupted before the command started; nothing was written")
        raise SystemExit(130) from None
    except SystemExit as exc:  # typer turns a Ctrl-C outside the commands (parsing, exiting) into a silent 130
        if exc.code == 130:
            interrupts.say("interrupted")
        raise
    finally:  # the command is over: a Ctrl-C during interpreter shutdown has nothing left to stop
        interrupts.ignore()


def _interrupted(message: str) -> None:
    """Ctrl-C: the one line and exit 130 (no `error:` prefix and no summary: the user stopped it)."""
    interrupts.say(message)
    raise typer.Exit(130)


def _fail(exc: TrtbuildError) -> None:
    from rich.text import Text

    from trtbuild.console import stderr_console

    # Text, not markup: the message quotes user input and install hints such as 'trtbuild[tensorrt]'
    stderr_console().print(Text.assemble(("error:", "bold red"), f" {exc}"), highlight=False, soft_wrap=True)
    raise typer.Exit(exc.exit_code)


def _overrides(weights, random_weights, precision, fp16, fp32, int8, workspace, sets, data=None,
               calib=None) -> Overrides:
    chosen = [p for p, flag in (("fp16", fp16), ("fp32", fp32), ("int8", int8)) if flag]
    if precision:
        chosen.append(precision)
    if len(set(chosen)) > 1:
        raise UsageError(f"conflicting precision options: {', '.join(chosen)} (pick one)")
    return Overrides(weights, random_weights, chosen[0] if chosen else None, workspace, list(sets or []), data, calib)


@app.command("list")
def list_cmd() -> None:
    """List the recipes this directory and the package provide."""
    _guard(_print_recipes)


def _print_recipes() -> None:
    for entry in api.list_recipes():
        aliases = f" (aliases: {', '.join(entry.aliases)})" if entry.aliases else ""
        typer.echo(f"{entry.name:<12} {entry.description}{aliases}\n{'':<12} {entry.path}")


@app.command()
def show(recipe: RecipeArg, weights: Weights = None, random_weights: RandomWeights = False,
         precision: Precision = None, fp16: Fp16 = False, fp32: Fp32 = False, int8: Int8 = False,
         workspace: Workspace = None, set_: Sets = None, data: Data = None, calib: Calib = None) -> None:
    """Print the resolved recipe (defaults filled in, overrides applied, paths resolved and whether they exist, the
    images each stage reads) as JSON."""
    _guard(lambda: typer.echo(json.dumps(api.show_recipe(
        recipe, _overrides(weights, random_weights, precision, fp16, fp32, int8, workspace, set_, data, calib)),
        indent=2)))


@app.command()
def build(recipe: RecipeArg, weights: Weights = None, random_weights: RandomWeights = False,
          precision: Precision = None, fp16: Fp16 = False, fp32: Fp32 = False, int8: Int8 = False,
          workspace: Workspace = None, set_: Sets = None, until: Until = STAGE_NAMES[-1], force: Force = False,
          force_stage: ForceStage = None, out: OutRoot = Path("engines"), cache_dir: CacheDir = None,
          json_out: JsonOut = False, data: Data = None, calib: Calib = None, strict: Strict = False) -> None:
    """Run the recipe's stages (export -> ... -> bench), reusing cached stages."""
    _guard(lambda: _run_build(
        recipe, _overrides(weights, random_weights, precision, fp16, fp32, int8, workspace, set_, data, calib),
        BuildOptions(until, force, list(force_stage or []), True, out, strict=strict), cache_dir, json_out))


@app.command()
def export(recipe: RecipeArg, weights: Weights = None, random_weights: RandomWeights = False,
           set_: Sets = None, force: Force = False, force_stage: ForceStage = None,
           out: OutRoot = Path("engines"), cache_dir: CacheDir = None, json_out: JsonOut = False,
           data: Data = None) -> None:
    """Export to ONNX, simplify and check against PyTorch (build --until check)."""
    _guard(lambda: _run_build(
        recipe, _overrides(weights, random_weights, None, False, False, False, None, set_, data),
        BuildOptions("check", force, list(force_stage or []), True, out), cache_dir, json_out))


@app.command()
def verify(recipe: RecipeArg, runner: VerifyRunner = None, weights: Weights = None,
           random_weights: RandomWeights = False, precision: Precision = None, fp16: Fp16 = False,
           fp32: Fp32 = False, int8: Int8 = False, set_: Sets = None, force: Force = False,
           force_stage: ForceStage = None, out: OutRoot = Path("engines"), cache_dir: CacheDir = None,
           json_out: JsonOut = False, data: Data = None, calib: Calib = None, strict: Strict = False) -> None:
    """Judge the candidate (engine, else ONNX Runtime) against PyTorch on real images; a failed gate exits 1."""
    sets = [*(set_ or []), *([f"verify.runner={runner}"] if runner else [])]
    _guard(lambda: _run_build(
        recipe, _overrides(weights, random_weights, precision, fp16, fp32, int8, None, sets, data, calib),
        BuildOptions(force=force, force_stages=list(force_stage or []), out_root=out, strict=strict), cache_dir,
        json_out, api.verify))


@app.command()
def bench(recipe: RecipeArg, runner: BenchRunners = None, duration: Duration = None, weights: Weights = None,
          random_weights: RandomWeights = False, precision: Precision = None, fp16: Fp16 = False,
          fp32: Fp32 = False, int8: Int8 = False, set_: Sets = None, force: Force = False,
          force_stage: ForceStage = None, out: OutRoot = Path("engines"), cache_dir: CacheDir = None,
          json_out: JsonOut = False, data: Data = None, calib: Calib = None, strict: Strict = False) -> None:
    """Time runners side by side (always re-measured); --duration 600 adds the memory-leak verdict."""
    sets = [*(set_ or []), *([f"bench.runners=[{','.join(runner)}]"] if runner else []),
            *([f"bench.duration_s={duration}", "bench.iterations=null"] if duration else [])]
    _guard(lambda: _run_build(
        recipe, _overrides(weights, random_weights, precision, fp16, fp32, int8, None, sets, data, calib),
        BuildOptions(force=force, force_stages=list(force_stage or []), out_root=out, strict=strict), cache_dir,
        json_out, api.bench))


def _run_build(recipe: str, overrides: Overrides, options: BuildOptions, cache_dir, json_out: bool,
               action=api.build) -> None:
    from rich.markup import escape

    from trtbuild.console import LiveProgress, stderr_console, summary_table

    console = stderr_console()
    report = None
    progress = LiveProgress(console)
    try:
        report = action(recipe, overrides, options, cache_dir, progress)
    except Interrupted as exc:
        progress.close()
        _interrupted(str(exc))
    except KeyboardInterrupt:  # outside the pipeline: loading the recipe, or writing report.md at the end
        progress.close()
        _interrupted("interrupted after the last stage; finished stages are kept" if progress.started
                     else "interrupted before the first stage; nothing was written")
    except TrtbuildError as exc:
        if progress.started:  # else report.json is an earlier build's (this one stopped before its first stage)
            _print_report(options, recipe, json_out, console)
        _fail(exc)
    console.print(summary_table(report))
    if report.random_weights:
        console.print("[bold yellow]RANDOM WEIGHTS: numbers check numerics only, not model quality[/]")
    for reason in report.not_measured:  # a warning (exit 0); --strict turned it into an error before this point
        console.print(f"[bold yellow]ACCURACY NOT MEASURED[/] {escape(reason)}; a warning, --strict makes it an "
                      "error", highlight=False)
    if json_out:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")


def _print_report(options: BuildOptions, recipe: str, json_out: bool, console) -> None:
    """After a failure: the partial report (if the build got far enough to write one)."""
    from trtbuild.console import summary_table
    from trtbuild.recipe import load_recipe
    from trtbuild.report import load_report

    try:
        path = options.out_root / load_recipe(recipe).recipe.name / "report.json"
        report = load_report(path)
    except (TrtbuildError, OSError, ValueError):
        return
    if not report.stages:  # stopped before any stage (bad input): the error line says it all
        return
    console.print(summary_table(report))
    if json_out:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")


@cache_app.command("ls")
def cache_ls(cache_dir: CacheDir = None) -> None:
    """List cached stage outputs."""
    entries = api.cache_entries(cache_dir)
    for e in entries:
        typer.echo(f"{e['stage']:<10} {e['key']}  {e['size'] / 1e6:9.1f} MB  {e['path']}")
    typer.echo(f"{len(entries)} entries, {sum(e['size'] for e in entries) / 1e6:.1f} MB")


@cache_app.command("clean")
def cache_clean(cache_dir: CacheDir = None,
                stage: Annotated[str | None, typer.Option(help="only this stage's entries")] = None) -> None:
    """Delete cached stage outputs (all, or one stage's)."""
    _guard(lambda: typer.echo(f"freed {api.cache_clean(cache_dir, _stage_name(stage)) / 1e6:.1f} MB"))


@cache_app.command("info")
def cache_info(cache_dir: CacheDir = None, json_out: JsonOut = False) -> None:
    """Entries and sizes per stage, builds running now, stale leftovers and damaged entries."""
    info = api.cache_info(cache_dir)
    if json_out:
        typer.echo(json.dumps(info, indent=2))
        return
    typer.echo(f"cache {info['root']}")
    for stage, totals in info["stages"].items():
        typer.echo(f"  {stage:<10} {totals['entries']:4} entries  {totals['bytes'] / 1e6:9.1f} MB")
    typer.echo(f"  {'total':<10} {info['entries']:4} entries  {info['bytes'] / 1e6:9.1f} MB")
    typer.echo(f"  running builds' work dirs: {info['running']}")
    stale_mb = sum(s["bytes"] for s in info["stale"]) / 1e6
    typer.echo(f"  stale leftovers of killed builds: {len(info['stale'])} ({stale_mb:.1f} MB)")
    typer.echo(f"  damaged entries (rebuilt when next needed): {len(info['damaged'])}")
    if info["stale"] or info["damaged"]:
        typer.echo("  `trtbuild cache prune` removes the stale leftovers and damaged entries")


@cache_app.command("prune")
def cache_prune(cache_dir: CacheDir = None, out: OutRoot = Path("engines")) -> None:
    """Remove leftovers of killed builds (cache work dirs, temp files under OUT/) and damaged entries."""
    done = api.cache_prune(cache_dir, out)
    typer.echo(f"freed {done['freed'] / 1e6:.1f} MB: {done['stale']} stale work dirs, {done['temp_files']} temp "
               f"files, {done['damaged']} damaged entries")


def _stage_name(stage: str | None) -> str | None:
    if stage is not None and stage not in STAGE_NAMES:
        raise UsageError(f"unknown stage {stage!r} (stages: {', '.join(STAGE_NAMES)})")
    return stage


@app.command()
def doctor(json_out: JsonOut = False) -> None:
    """What this host offers: tool versions, working ONNX Runtime providers, TensorRT, trtexec, GPU."""
    info = api.doctor()
    if json_out:
        typer.echo(json.dumps(info, indent=2))
        return
    for section, values in info.items():
        typer.echo(f"{section}:")
        for key, value in (values.items() if isinstance(values, dict) else [("", values)]):
            if isinstance(value, dict) and value:  # one level deeper: e.g. each engine backend
                typer.echo(f"  {key}:")
                for sub, text in value.items():
                    typer.echo(f"    {sub:<22} {text}")
            else:
                typer.echo(f"  {key:<24} {value}" if key else f"  {value}")


@app.command()
def version() -> None:
    """Print trtbuild's version."""
    typer.echo(__version__)


def _guard(action) -> None:
    try:
        action()
    except TrtbuildError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        _interrupted("interrupted")
