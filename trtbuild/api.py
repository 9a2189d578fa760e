"""What the CLI calls: one function per command, usable from Python as well."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from trtbuild.core import stale
from trtbuild.core.cache import Cache, default_cache_dir
from trtbuild.core.errors import UsageError
from trtbuild.build.pipeline import BuildOptions, Listener
from trtbuild.recipe import Overrides
from trtbuild.recipe.find import RecipeEntry
from trtbuild.recipe.find import list_recipes as _list_recipes
from trtbuild.build.report import BuildReport
from trtbuild.build.single_build import build, load_checked_recipe  # one recipe's build, also what each farm cell runs


def list_recipes() -> list[RecipeEntry]:
    return _list_recipes()


def show_recipe(ref: str, overrides: Overrides | None = None) -> dict:
    from trtbuild.backends.preflight import describe_engine_plan
    from trtbuild.data.datasets import describe_sources
    from trtbuild.recipe.paths import path_fields

    loaded = load_checked_recipe(ref, overrides)
    paths = {key: {"path": str(value.absolute()), "exists": value.exists()}
             for key, _, _, value in path_fields(loaded.recipe)}
    return {"path": str(loaded.path), "digest": loaded.digest, "paths": paths,
            "images": describe_sources(loaded.recipe), "engine": describe_engine_plan(loaded.recipe),
            "recipe": loaded.recipe.model_dump(mode="json")}


def build_matrix(cells: list, options, view=None) -> list:
    """Several engines at once (trtbuild.farm): `cells` from `recipe_cells` or `matrix_cells`, one after another
    here or as Ray tasks (options.ray); returns a row per cell. Cells that failed are in the rows, not raised."""
    from trtbuild.farm.run import run_matrix

    return run_matrix(cells, options, view)


def recipe_cells(ref: str, overrides: Overrides | None, precisions: list[str], targets: list[str]) -> list:
    """The cells of one recipe: each precision (default: the recipe's) for its targets (default: the recipe's)."""
    from trtbuild.farm.cells import expand

    overrides = overrides or Overrides()
    return expand(load_checked_recipe(ref, overrides), ref, overrides, precisions, targets)


def matrix_cells(path: Path) -> list:
    """The cells of a matrix YAML (trtbuild.farm.cells.Matrix)."""
    from trtbuild.farm.cells import load_matrix
    from trtbuild.farm.cells import matrix_cells as cells_of

    return cells_of(load_matrix(path))


def verify(ref: str, overrides: Overrides | None = None, options: BuildOptions | None = None,
           cache_dir: Path | None = None, listener: Listener | None = None) -> BuildReport:
    """Build through verify; without TensorRT the engine stage is recorded unavailable and ONNX Runtime is judged."""
    options = replace(options or BuildOptions(), until="verify", stop_on_unavailable=False)
    return build(ref, overrides, options, cache_dir, listener)


def bench(ref: str, overrides: Overrides | None = None, options: BuildOptions | None = None,
          cache_dir: Path | None = None, listener: Listener | None = None) -> BuildReport:
    """Build through bench, always re-measuring (earlier stages come from the cache)."""
    options = options or BuildOptions()
    options = replace(options, until="bench", stop_on_unavailable=False, force_stages=[*options.force_stages, "bench"])
    return build(ref, overrides, options, cache_dir, listener)


def cache_entries(cache_dir: Path | None = None) -> list[dict]:
    cache = Cache(cache_dir or default_cache_dir())
    return [
        {"stage": e.stage, "key": e.key, "size": e.size(), "created": e.manifest.get("created"), "path": str(e.path)}
        for e in cache.entries()
    ]


def cache_clean(cache_dir: Path | None = None, stage: str | None = None) -> int:
    return Cache(cache_dir or default_cache_dir()).clean(stage)


def cache_info(cache_dir: Path | None = None) -> dict:
    """Entries and bytes per stage, work directories of running builds, and what `cache_prune` would remove."""
    cache = Cache(cache_dir or default_cache_dir())
    stages: dict[str, dict] = {}
    for entry in cache.entries():
        totals = stages.setdefault(entry.stage, {"entries": 0, "bytes": 0})
        totals["entries"] += 1
        totals["bytes"] += entry.size()
    workdirs = sorted((cache.root / "tmp").iterdir()) if (cache.root / "tmp").is_dir() else []
    leftovers = cache.stale_workdirs()
    return {
        "root": str(cache.root),
        "stages": stages,
        "entries": sum(t["entries"] for t in stages.values()),
        "bytes": sum(t["bytes"] for t in stages.values()),
        "max_size": cache.max_size,
        "running": len(workdirs) - len(leftovers),
        "stale": [{"path": str(p), "bytes": stale.size_of(p)} for p in leftovers],
        "damaged": [{"path": str(p), "problem": problem} for p, problem in cache.damaged()],
    }


def cache_limit(max_size: str, cache_dir: Path | None = None) -> int:
    """Set the cache's size limit ('20G', '500M', 'none'), shared by every build and host that uses this cache, and
    evict least recently used entries down to it now; returns the bytes freed."""
    return Cache(cache_dir or default_cache_dir()).set_max_size(_parse_size(max_size))


def _parse_size(text: str) -> int | None:
    units = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
    number, unit = text.strip().upper().rstrip("B"), ""
    if number == "NONE":
        return None
    if number and number[-1] in units:
        number, unit = number[:-1], number[-1]
    try:
        return int(float(number) * units[unit])
    except ValueError:
        raise UsageError(f"cache size {text!r}: expected a size such as 20G, 500M or none") from None


def cache_prune(cache_dir: Path | None = None, out_root: Path | None = None) -> dict:
    """Remove leftovers of killed builds (cache work directories; temp files under OUT/<recipe>/) and entries whose
    manifest is damaged. Nothing a live build owns is touched."""
    cache = Cache(cache_dir or default_cache_dir())
    leftovers = cache.stale_workdirs()
    temp_files = [f for d in _recipe_dirs(out_root) for f in stale.stale_temp_files(d)]
    damaged, freed = cache.remove_damaged()
    return {"stale": len(leftovers), "temp_files": len(temp_files), "damaged": damaged,
            "freed": freed + stale.remove([*leftovers, *temp_files])}


def _recipe_dirs(out_root: Path | None) -> list[Path]:
    if out_root is None or not out_root.is_dir():
        return []
    return [d for recipe in out_root.iterdir() if recipe.is_dir() for d in (recipe, recipe / "logs")]


def doctor() -> dict:
    """diagnose() plus, per engine library, the bindings found: which distribution and which module it imports."""
    from trtbuild.doctor import diagnose
    from trtbuild.tensorrt.flavor import FLAVORS

    info = diagnose()
    info["engine_bindings"] = {f.name: str(f.installed() or f"not installed ({f.install_hint})") for f in FLAVORS}
    return info


def engine_folder(target: str, out_root: Path = Path("engines")) -> Path:
    """An engine-set folder as given, else the recipe's (name or alias) under `out_root`."""
    folder = Path(target)
    if folder.is_dir() or folder.is_file():
        return folder
    return out_root / load_checked_recipe(target).recipe.name


def predict(target: str, source: str, save_dir: Path | None = None, out_root: Path = Path("engines"),
            runtime: str = "auto", precision: str | None = None, progress=None, save_images: bool = True,
            warn=None, **options):
    """`trtbuild predict`: load the recipe's engine set, run it over `source`, write views and results.jsonl
    (default under runs/predict/<recipe>/); returns a PredictSummary, whose `failed` lists the inputs passed over
    (each also given to `warn`, one line). `options`: the task's (checked by its declaration before anything is
    written)."""
    from trtbuild.runtime.model import load as load_model
    from trtbuild.runtime.predict import predict_source

    with load_model(engine_folder(target, out_root), runtime=runtime, precision=precision, **options) as model:
        target_dir = save_dir or Path("runs") / "predict" / model.engines.recipe
        return predict_source(model, source, target_dir, progress, save_images, warn)
