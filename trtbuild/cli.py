"""The `trtbuild` command line: each command parses options and makes one call into `trtbuild.api`.

Exit codes: 0 ok, 1 a stage failed, 2 usage or recipe error, 3 a needed stage is unavailable on this host.

Options shared by several commands are declared once, as fields of the option groups in trtbuild.cli_options; a
command names the groups it takes as parameters and `@command` (the same error and Ctrl-C guard for every command)
spreads their fields into its options. Nothing heavy is imported before a command runs: `--help` and `list` stay fast.
No `from __future__ import annotations` here: typer reads every command's annotations at each start, and evaluated
once at definition they need no parsing (as strings they cost ~2 ms of every command).
"""

import dataclasses
import gc
import json
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from trtbuild.core import interrupts
from trtbuild.cli_options import (CacheDir, ClusterOptions, JsonOut, OutRoot, OutputOptions, PrecisionOptions,
                                  RecipeArg, RecipeOptions, Strict, Workspace, command_in)
from trtbuild.core.errors import Interrupted, StageFailed, TrtbuildError, UsageError
from trtbuild.runners import RUNNER_NAMES
from trtbuild.build.stages import STAGE_NAMES
from trtbuild.version import __version__

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Turn PyTorch vision models into validated TensorRT engines from one YAML recipe.")
cache_app = typer.Typer(no_args_is_help=True, help="Inspect or clean the stage cache.")
app.add_typer(cache_app, name="cache")
command = command_in(app)
cache_command = command_in(cache_app)

Until = Annotated[str, typer.Option("--until", help=f"last stage to run ({' | '.join(STAGE_NAMES)})")]
VerifyRunner = Annotated[str | None, typer.Option(
    "--runner", help="candidate: auto (engine if built, else ONNX Runtime) | onnxruntime | engine")]
BenchRunners = Annotated[list[str] | None, typer.Option(
    "--runner", help=f"runner to time (repeatable): {' | '.join(RUNNER_NAMES)} (default: recipe bench.runners)")]
Targets = Annotated[list[str] | None, typer.Option(
    "--target", help="GPU compute capability, e.g. 8.6 (repeatable): TensorRT-RTX builds one engine for all")]
MatrixArg = Annotated[Path, typer.Argument(help="matrix YAML: builds: [{recipe, weights, data, precisions, targets}]")]
Duration = Annotated[float | None, typer.Option(
    "--duration", help="seconds per runner (600 = stability run with memory slope)", min=0.001)]
CannotTell = Annotated[str | None, typer.Option(
    "--cannot-tell", help="a gate whose 95 % interval straddles its bound: fail (exit 1) | warn (exit 0); default: "
    "the recipe's verify.cannot_tell (fail)")]


def main() -> None:
    warnings.showwarning = _note_renamed
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


_show_warning = warnings.showwarning


def _note_renamed(message, category, filename, lineno, file=None, line=None) -> None:
    """An old spelling in a recipe: one `note:` line (other warnings keep Python's format)."""
    from trtbuild.recipe.names import RenamedWarning

    if issubclass(category, RenamedWarning):
        sys.stderr.write(f"note: {message}\n")
    else:
        _show_warning(message, category, filename, lineno, file, line)


@command("list")
def list_cmd() -> None:
    """List the recipes this directory and the package provide."""
    from trtbuild.recipe.find import list_recipes

    for entry in list_recipes():
        aliases = f" (aliases: {', '.join(entry.aliases)})" if entry.aliases else ""
        typer.echo(f"{entry.name:<12} {entry.description}{aliases}\n{'':<12} {entry.path}")


@command()
def show(recipe: RecipeArg, model: RecipeOptions, precision: PrecisionOptions, workspace: Workspace = None) -> None:
    """Print the resolved recipe (defaults filled in, overrides applied, paths resolved and whether they exist, the
    images each stage reads) as JSON."""
    api = _api()

    typer.echo(json.dumps(api.show_recipe(recipe, model.overrides(precision, workspace)), indent=2))


@command()
def build(recipe: RecipeArg, model: RecipeOptions, precision: PrecisionOptions, output: OutputOptions,
          cluster: ClusterOptions, workspace: Workspace = None, until: Until = STAGE_NAMES[-1],
          strict: Strict = False, target: Targets = None, cannot_tell: CannotTell = None) -> None:
    """Run the recipe's stages (export -> ... -> bench), reusing cached stages; several --precision or --target
    values, --ray or --dry-run build one engine per cell."""
    api = _api()

    sets = _cannot_tell(cannot_tell)
    if cluster.asked or target or len(precision.all()) > 1:
        cells = api.recipe_cells(recipe, model.overrides(precision.calibration_only(), workspace, sets),
                                 precision.all(), target or [])
        _run_matrix(cells, cluster, output, until=until, strict=strict)
        return
    _run_build(recipe, model.overrides(precision, workspace, sets), output, api.build, until=until, strict=strict)


@command()
def farm(matrix: MatrixArg, output: OutputOptions, cluster: ClusterOptions, until: Until = STAGE_NAMES[-1],
         strict: Strict = False) -> None:
    """Build every cell of a matrix YAML (recipes x precisions x GPU targets), one after another or with --ray."""
    api = _api()

    _run_matrix(api.matrix_cells(matrix), cluster, output, until=until, strict=strict)


@command()
def export(recipe: RecipeArg, model: RecipeOptions, output: OutputOptions) -> None:
    """Export to ONNX, simplify and check against PyTorch (build --until check)."""
    api = _api()

    _run_build(recipe, model.overrides(), output, api.build, until="check")


@command()
def verify(recipe: RecipeArg, model: RecipeOptions, precision: PrecisionOptions, output: OutputOptions,
           runner: VerifyRunner = None, strict: Strict = False, cannot_tell: CannotTell = None) -> None:
    """Judge the candidate (engine, else ONNX Runtime) against PyTorch on real images, at every batch of a dynamic
    profile; a failed gate exits 1, a gate that cannot tell as --cannot-tell says."""
    api = _api()

    sets = [*([f"verify.runner={runner}"] if runner else []), *_cannot_tell(cannot_tell)]
    _run_build(recipe, model.overrides(precision, sets=sets), output, api.verify, strict=strict)


@command()
def bench(recipe: RecipeArg, model: RecipeOptions, precision: PrecisionOptions, output: OutputOptions,
          runner: BenchRunners = None, duration: Duration = None, strict: Strict = False) -> None:
    """Time runners side by side (always re-measured); --duration 600 adds the memory-leak verdict."""
    api = _api()

    sets = [*([f"bench.runners=[{','.join(runner)}]"] if runner else []),
            *([f"bench.duration_s={duration}", "bench.iterations=null"] if duration else [])]
    _run_build(recipe, model.overrides(precision, sets=sets), output, api.bench, strict=strict)


@command()
def predict(
    target: Annotated[str, typer.Argument(help="recipe name (its engines under --out) or an engines/<recipe>/ folder")],
    source: Annotated[str, typer.Option("--source", help="an image, a folder, a glob or a video file")],
    save_dir: Annotated[Path | None, typer.Option("--save-dir", help="default runs/predict/<recipe>/ (never "
                                                  "overwritten: <recipe>2, ...)")] = None,
    out: OutRoot = Path("engines"),
    runtime: Annotated[str, typer.Option("--runtime", help="auto | engine | onnxruntime | torch")] = "auto",
    precision: Annotated[str | None, typer.Option("--precision", help="default: the newest build's")] = None,
    conf: Annotated[float | None, typer.Option("--conf", help="detection: minimum confidence (0.25)")] = None,
    iou: Annotated[float | None, typer.Option("--iou", help="detection: NMS IoU (0.7)")] = None,
    max_det: Annotated[int | None, typer.Option("--max-det", help="detection: most boxes per frame (300)")] = None,
    classes: Annotated[list[int] | None, typer.Option("--classes", help="detection: only these class ids")] = None,
    save: Annotated[bool, typer.Option("--save/--no-save", help="write annotated images / depth views")] = True,
) -> None:
    """Run the engine set on frames, as `yolo predict` does: views and results.jsonl under --save-dir. An unreadable
    input is a warning and an "error" line in results.jsonl; the run goes on and exits 1 at the end."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.text import Text

    api = _api()
    from trtbuild.build.console import stderr_console

    given = {"conf": conf, "iou": iou, "max_det": max_det, "classes": classes}
    console = stderr_console()

    def warn(line: str) -> None:
        console.print(Text.assemble(("warning:", "bold yellow"), f" {line}"), highlight=False, soft_wrap=True)

    with Progress(TextColumn("predict"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[fps]:.1f} FPS"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("predict", total=None, fps=0.0)
        try:
            summary = api.predict(target, source, save_dir, out, runtime, precision,
                                  lambda done, total, fps: bar.update(task, completed=done, total=total, fps=fps),
                                  save, warn, **{k: v for k, v in given.items() if v is not None})
        except Interrupted as exc:
            raise KeyboardInterrupt(str(exc)) from None
    failed = f", {len(summary.failed)} inputs failed" if summary.failed else ""
    console.print(f"{summary.frames} frames in {summary.seconds:.1f} s ({summary.fps:.1f} FPS) on {summary.runtime}"
                  f"{failed}", highlight=False)
    if summary.why:
        console.print(f"why: {summary.why}", highlight=False)
    typer.echo(str(summary.save_dir))
    if summary.failed:
        raise StageFailed(f"{len(summary.failed)} inputs could not be read (each named above and in "
                          f"{summary.save_dir / 'results.jsonl'}); the other frames' results are kept")


def _api():
    """trtbuild.api, for a command about to call it (see `collector_paused`)."""
    if "trtbuild.api" not in sys.modules or START_UP.collector_paused:
        with collector_paused():
            import trtbuild.api
            import trtbuild.build.console  # noqa: F401  (the views of every command that builds)
    from trtbuild import api

    return api


@dataclass
class StartUp:
    collector_paused: bool = False  # trtbuild.__main__ paused the cyclic collector before importing this module


START_UP = StartUp()  # process-wide: the collector is the process's


@contextmanager
def collector_paused():
    """Start-up imports (the CLI's, then typer's and pydantic's while the options are parsed, then trtbuild.api and
    the console) build some 60 000 objects (modules, classes, pydantic validators) that live as long as the process;
    the cyclic collector would walk them again at every full collection and at exit (~4 % of a cached build). So it
    is paused from the process's start (trtbuild.__main__) until a command has imported what it runs on, and what
    start-up made is frozen (gc.freeze: never walked again and never freed, the few hundred cycles the imports left
    behind included); then the collector runs as usual for the command's own work."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled or START_UP.collector_paused:
            START_UP.collector_paused = False
            gc.enable()


def _cannot_tell(choice: str | None) -> list[str]:
    """--cannot-tell as the recipe key it sets (the schema names the values a wrong one could take)."""
    return [f"verify.cannot_tell={choice}"] if choice else []


def _run_build(recipe: str, overrides, output: OutputOptions, action, **options) -> None:
    from rich.markup import escape

    from trtbuild.build.console import LiveProgress, stderr_console

    build_options = output.build_options(**options)
    console = stderr_console()
    progress = LiveProgress(console)
    try:
        report = action(recipe, overrides, build_options, output.cache_dir, progress)
    except Interrupted as exc:
        progress.close()
        raise KeyboardInterrupt(str(exc)) from None
    except KeyboardInterrupt:  # outside the pipeline: loading the recipe, or writing report.md at the end
        progress.close()
        raise KeyboardInterrupt("interrupted after the last stage; finished stages are kept" if progress.started
                                else "interrupted before the first stage; nothing was written") from None
    except TrtbuildError:
        if progress.started:  # else report.json is an earlier build's (this one stopped before its first stage)
            _print_report(build_options.out_root, recipe, output.json_out, console)
        raise
    _show(report, console)
    if report.random_weights:
        console.print("[bold yellow]RANDOM WEIGHTS: numbers check numerics only, not model quality[/]")
    for reason in report.not_measured:  # a warning (exit 0); --strict turned it into an error before this point
        console.print(f"[bold yellow]ACCURACY NOT MEASURED[/] {escape(reason)}; a warning, --strict makes it an "
                      "error", highlight=False)
    if output.json_out:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")


def _run_matrix(cells: list, cluster: ClusterOptions, output: OutputOptions, **options) -> None:
    api = _api()
    from trtbuild.build.console import stderr_console
    from trtbuild.farm.view import FarmView, summary

    console = stderr_console()
    view = FarmView(console, live=cluster.asked and not cluster.dry_run)
    try:
        rows = api.build_matrix(cells, cluster.farm_options(output, **options), view)
    except Interrupted as exc:
        raise KeyboardInterrupt(str(exc)) from None
    console.print(summary(rows))
    if output.json_out:
        sys.stdout.write(json.dumps([dataclasses.asdict(r) for r in rows], indent=2) + "\n")
    failed = [r.cell for r in rows if r.status not in ("ok", "planned")]
    if failed:
        raise StageFailed(f"{len(failed)} of {len(rows)} cells failed: {', '.join(failed)}")


def _print_report(out_root: Path, recipe: str, json_out: bool, console) -> None:
    """After a failure: the partial report (if the build got far enough to write one)."""
    from trtbuild.recipe import load_recipe
    from trtbuild.build.report import load_report

    try:
        report = load_report(out_root / load_recipe(recipe).recipe.name / "report.json")
    except (TrtbuildError, OSError, ValueError):
        return
    if not report.stages:  # stopped before any stage (bad input): the error line says it all
        return
    _show(report, console)
    if json_out:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")


@cache_command("ls")
def cache_ls(cache_dir: CacheDir = None) -> None:
    """List cached stage outputs."""
    api = _api()

    entries = api.cache_entries(cache_dir)
    for e in entries:
        typer.echo(f"{e['stage']:<10} {e['key']}  {e['size'] / 1e6:9.1f} MB  {e['path']}")
    typer.echo(f"{len(entries)} entries, {sum(e['size'] for e in entries) / 1e6:.1f} MB")


@cache_command("clean")
def cache_clean(cache_dir: CacheDir = None,
                stage: Annotated[str | None, typer.Option(help="only this stage's entries")] = None) -> None:
    """Delete cached stage outputs (all, or one stage's)."""
    api = _api()

    if stage is not None and stage not in STAGE_NAMES:
        raise UsageError(f"unknown stage {stage!r} (stages: {', '.join(STAGE_NAMES)})")
    typer.echo(f"freed {api.cache_clean(cache_dir, stage) / 1e6:.1f} MB")


@cache_command("info")
def cache_info(cache_dir: CacheDir = None, json_out: JsonOut = False) -> None:
    """Entries and sizes per stage, builds running now, stale leftovers and damaged entries."""
    api = _api()

    info = api.cache_info(cache_dir)
    if json_out:
        typer.echo(json.dumps(info, indent=2))
        return
    typer.echo(f"cache {info['root']}")
    for stage, totals in info["stages"].items():
        typer.echo(f"  {stage:<10} {totals['entries']:4} entries  {totals['bytes'] / 1e6:9.1f} MB")
    typer.echo(f"  {'total':<10} {info['entries']:4} entries  {info['bytes'] / 1e6:9.1f} MB")
    if info["max_size"] is not None:
        typer.echo(f"  {'limit':<10} {'':12} {info['max_size'] / 1e6:9.1f} MB (`trtbuild cache limit none` lifts it)")
    typer.echo(f"  running builds' work dirs: {info['running']}")
    stale_mb = sum(s["bytes"] for s in info["stale"]) / 1e6
    typer.echo(f"  stale leftovers of killed builds: {len(info['stale'])} ({stale_mb:.1f} MB)")
    typer.echo(f"  damaged entries (rebuilt when next needed): {len(info['damaged'])}")
    if info["stale"] or info["damaged"]:
        typer.echo("  `trtbuild cache prune` removes the stale leftovers and damaged entries")


@cache_command("limit")
def cache_limit(max_size: Annotated[str, typer.Argument(help="e.g. 20G, 500M; none removes the limit")],
                cache_dir: CacheDir = None) -> None:
    """Cap the cache's size (least recently used entries go first; what a running build uses stays)."""
    api = _api()

    typer.echo(f"freed {api.cache_limit(max_size, cache_dir) / 1e6:.1f} MB")


@cache_command("prune")
def cache_prune(cache_dir: CacheDir = None, out: OutRoot = Path("engines")) -> None:
    """Remove leftovers of killed builds (cache work dirs, temp files under OUT/) and damaged entries."""
    api = _api()

    done = api.cache_prune(cache_dir, out)
    typer.echo(f"freed {done['freed'] / 1e6:.1f} MB: {done['stale']} stale work dirs, {done['temp_files']} temp "
               f"files, {done['damaged']} damaged entries")


@command()
def doctor(json_out: JsonOut = False) -> None:
    """What this host offers: tool versions, working ONNX Runtime providers, TensorRT, trtexec, GPU."""
    api = _api()

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


@command()
def version() -> None:
    """Print trtbuild's version."""
    typer.echo(__version__)


def _show(report, console) -> None:
    """The summary table, then verify's gates (value, 95 % interval, bound, outcome)."""
    from trtbuild.build.console import gate_lines, summary_table

    console.print(summary_table(report))
    for line in gate_lines(report.verify):
        console.print(line)
