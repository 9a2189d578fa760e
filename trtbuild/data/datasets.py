"""The images (and labels) a build reads: the user's Ultralytics dataset YAML or image folder, or, when there is none,
the two pictures Ultralytics installs with itself (bus.jpg, zidane.jpg), which exist wherever trtbuild is installed.

The user's images play three roles, each read from its own key, else from `data`:
  calibration  precision.calibration.images (--calib)   int8 ranges               none: int8 stops, names --calib
  search       precision.evaluate.images                what the FP32-node search tunes on   none: no search
  holdout      verify.images (+ labels) (--holdout)     the precision stage's headline accuracy and verify's gates
The search never falls back to the holdout (a search tuned on the holdout would make its verdict a score on seen
images). Caps: precision.evaluate.max_images bounds both the search set and the precision stage's share of the
holdout (its first N images); verify reads the first verify.max_images of the same holdout.
`data` as a dataset YAML: its train split calibrates (less any holdout image: COCO128's train and val are the same
images), its val split is divided between search and holdout; as an image folder: divided among all three.
Division is by the SHA-256 of each file name (ROLE_SHARES among the roles `data` supplies), so a file's role does
not depend on the order files are listed in. `check` (parity only) reads
check.images | data (val split) | the bundled samples. A dataset YAML brings its labels (Ultralytics' images/ ->
labels/ rule); a folder has none unless verify.labels says.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass, replace
from pathlib import Path

from trtbuild.core.errors import UsageError
from trtbuild.data.images import IMAGE_SUFFIXES, list_images
from trtbuild.recipe.read import read_yaml_mapping
from trtbuild.recipe.schema import Recipe

DATASET_SUFFIXES = (".yaml", ".yml")
RECOMMENDED_CALIBRATION_IMAGES = 300  # NVIDIA recommends >= 500; Ultralytics warns below 300
NO_DATA_HINT = "pass --data DATASET.yaml or an image folder"
ROLES = ("calibration", "search", "holdout")
ROLE_SHARES = {"calibration": 2, "search": 1, "holdout": 1}  # of the images `data` divides among the roles it gives
ROLE_FLAGS = {"calibration": "--calib", "search": "precision.evaluate.images", "holdout": "--holdout"}
MIN_HOLDOUT_IMAGES = 50  # fewer: a warning naming the count (at 50, one image is 2 % of the verdict)


@dataclass(frozen=True)
class ImageSet:
    """Sorted images for one purpose, where they came from, and each image's YOLO label file when the source has
    labels (a missing label file means an image without objects, as in Ultralytics)."""

    source: str
    images: list[Path]
    labels: dict[Path, Path] | None = None
    user_data: bool = True  # False for the bundled samples: fine for parity checks, never an accuracy measurement

    def first(self, count: int) -> ImageSet:
        return self.subset(self.images[:count])

    def subset(self, images: list[Path], source: str | None = None) -> ImageSet:
        return replace(self, images=images, source=source or self.source,
                       labels={p: self.labels[p] for p in images} if self.labels else None)

    def label_files(self) -> list[Path]:
        """The label files that exist (their content enters cache keys)."""
        return [p for p in (self.labels or {}).values() if p.is_file()]

    def describe(self) -> str:
        labelled = f", {len(self.label_files())} label files" if self.labels else ", no labels"
        return f"{len(self.images)} images from {self.source}{labelled}"


def bundled_samples() -> ImageSet:
    """Ultralytics' own sample pictures, found without importing ultralytics (cached builds never import torch)."""
    spec = importlib.util.find_spec("ultralytics")
    folder = Path(next(iter(spec.submodule_search_locations))) / "assets" if spec else None
    images = list_images(folder)
    if not images:
        raise UsageError(f"no sample images found in the ultralytics package ({folder}); {NO_DATA_HINT}")
    return ImageSet(f"ultralytics' bundled samples ({folder})", images, user_data=False)


def read_images(path: Path, key: str, split: str = "val", labels_dir: Path | None = None) -> ImageSet:
    """A dataset YAML's split (with its labels) or an image folder (labels only from `labels_dir`)."""
    if not path.exists():
        raise UsageError(f"{key}: not found: {path} (give an Ultralytics dataset YAML or an image folder)")
    if path.is_file() and path.suffix.lower() in DATASET_SUFFIXES:
        return _dataset_split(path, key, split)
    if not path.is_dir():
        raise UsageError(f"{key}: {path} is neither an image folder nor a dataset .yaml")
    folder = Path(os.path.abspath(path))  # absolute, as a dataset YAML's split is: roles compare images by path
    images = list_images(folder) or _class_tree(folder)
    if not images:
        raise UsageError(f"{key}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {path}")
    labels = {p: labels_dir / f"{p.stem}.txt" for p in images} if labels_dir and labels_dir.is_dir() else None
    return ImageSet(str(path), images, labels)


def _class_tree(folder: Path) -> list[Path]:
    """A one-folder-per-class tree (ImageNet style: folder/<class>/<image>): its images, class by class; the
    classify task reads each image's class from its folder's name."""
    return [image for sub in sorted(p for p in folder.iterdir() if p.is_dir()) for image in list_images(sub)]


def _dataset_split(path: Path, key: str, split: str) -> ImageSet:
    """A split of an Ultralytics dataset YAML, by Ultralytics' rules (data/utils.py check_det_dataset, img2label_paths)
    but without importing it, so cached builds stay free of torch: the root is `path:` (relative: from the working
    directory, else under Ultralytics' datasets_dir) or the YAML's folder; split entries are folders or .txt lists
    under the root; labels replace the last /images/ with /labels/. Nothing is downloaded: a missing split is an error."""
    data = read_yaml_mapping(path, f"{key}: {path}", "dataset", "(path, train, val, names)")
    entries = data.get(split) or (data.get("validation") if split == "val" else None)
    if not entries:
        raise UsageError(f"{key}: {path}: no '{split}:' key (Ultralytics dataset YAMLs name train and val)")
    root = Path(os.path.expanduser(str(data["path"]))) if data.get("path") else path.resolve().parent
    if not root.exists() and not root.is_absolute():
        from ultralytics.utils import DATASETS_DIR

        root = DATASETS_DIR / root
    folders = [_split_entry(root, str(entry)) for entry in (entries if isinstance(entries, list) else [entries])]
    missing = next((f for f in folders if not f.exists()), None)
    if missing:
        raise UsageError(f"{key}: {path}: '{split}' images not found at {missing} (trtbuild never downloads data)")
    images = sorted(image for folder in folders for image in _split_images(folder))
    if not images:
        raise UsageError(f"{key}: {path}: its '{split}' split has no images")
    labels = {image: _label_path(image) for image in images}
    has_labels = any(p.is_file() for p in labels.values())
    return ImageSet(f"{path} ({split} split)", images, labels if has_labels else None)


def _split_entry(root: Path, entry: str) -> Path:
    found = Path(os.path.abspath(root / entry))
    if not found.exists() and entry.startswith("../"):  # Ultralytics also tries `../x` as `x` under the root
        return Path(os.path.abspath(root / entry[3:]))
    return found


def _label_path(image: Path) -> Path:
    images, labels = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    return Path(labels.join(str(image).rsplit(images, 1))).with_suffix(".txt")


def _split_images(entry: Path) -> list[Path]:
    """A split entry as Ultralytics reads it: a folder (searched recursively) or a .txt list of image paths."""
    if entry.is_dir():
        return [p for p in entry.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES]
    if entry.is_file():
        lines = [line.strip() for line in entry.read_text().splitlines() if line.strip()]
        return [entry.parent / line if line.startswith("./") else Path(line) for line in lines
                if Path(line).suffix.lower() in IMAGE_SUFFIXES]
    return []


def check_set(recipe: Recipe) -> ImageSet:
    source, key = (recipe.check.images, "check.images") if recipe.check.images else (recipe.data, "data")
    found = read_images(source, key) if source else bundled_samples()
    return found.first(recipe.check.max_images)


def _own_sources(recipe: Recipe) -> dict[str, Path | None]:
    return {"calibration": recipe.precision.calibration.images, "search": recipe.precision.evaluate.images,
            "holdout": recipe.verify.images}


def _from_data(recipe: Recipe, role: str) -> ImageSet | None:
    """`role`'s images from `data`: a dataset YAML's train split calibrates, its val split is divided between search
    and holdout; a folder is divided among all three. Only roles without their own key take a share."""
    if recipe.data is None:
        return None
    dataset = recipe.data.suffix.lower() in DATASET_SUFFIXES
    if dataset and role == "calibration":
        return read_images(recipe.data, "data", split="train")
    divided = [r for r in (ROLES[1:] if dataset else ROLES) if not _own_sources(recipe)[r]]
    return divide(read_images(recipe.data, "data"), divided, role)


def divide(found: ImageSet, roles: list[str], role: str) -> ImageSet:
    """`role`'s share (ROLE_SHARES) of `found` divided among `roles` in the order of each file name's SHA-256."""
    ranked = sorted(found.images, key=lambda p: hashlib.sha256(p.name.encode()).hexdigest())
    shares = [ROLE_SHARES[r] for r in roles]
    index, total = roles.index(role), sum(shares)
    start, end = (round(len(ranked) * sum(shares[:i]) / total) for i in (index, index + 1))
    if start == end:
        raise UsageError(f"data: {len(ranked)} images in {found.source} are too few to give the {role} a share "
                         f"({' / '.join(roles)}): pass more, or its own images ({ROLE_FLAGS[role]})")
    share = f"{shares[index]}/{total}" if total != shares[index] else "all"
    return found.subset(sorted(ranked[start:end]), f"{found.source}, {role} share {share} by file-name hash")


def calibration_set(recipe: Recipe) -> ImageSet | None:
    """--calib's images, else `data`'s without any holdout image: a dataset YAML whose train and val splits share
    images (COCO128's) calibrates on the rest, so the holdout stays unseen."""
    spec = recipe.precision.calibration
    if spec.images:
        return read_images(spec.images, "precision.calibration.images", split="train").first(spec.count)
    found = _from_data(recipe, "calibration")
    if found is None:
        return None
    holdout = set(every.images) if (every := _holdout(recipe)) else set()
    kept = [p for p in found.images if p not in holdout]
    if not kept:
        raise UsageError(f"data: every calibration image of {found.source} is also a holdout image: pass --calib "
                         f"with other images, or --holdout")
    source = f"{found.source} without the {len(found.images) - len(kept)} holdout images" \
        if len(kept) < len(found.images) else found.source
    return found.subset(kept, source).first(spec.count)


def required_calibration(recipe: Recipe) -> ImageSet:
    """int8's calibration set; none is a usage error that names the flag."""
    found = calibration_set(recipe)
    if found is None:
        raise UsageError(f"precision.calibration.images: int8 needs calibration images: pass --calib FOLDER or "
                         f"DATASET.yaml (its train split), {RECOMMENDED_CALIBRATION_IMAGES}+ images recommended")
    return found


def verify_set(recipe: Recipe, limit: int | None = None) -> ImageSet | None:
    """The holdout: what verify gates on, and the precision stage reports as its headline (first `limit`)."""
    found = _holdout(recipe)
    return found.first(limit or recipe.verify.max_images) if found else None


def _holdout(recipe: Recipe) -> ImageSet | None:
    """Every holdout image (the stages read the first verify.max_images)."""
    spec = recipe.verify
    return read_images(spec.images, "verify.images", labels_dir=spec.labels) if spec.images else \
        _from_data(recipe, "holdout")


def search_set(recipe: Recipe) -> ImageSet | None:
    """What the FP32-node search tunes on (never the holdout)."""
    spec = recipe.precision.evaluate
    found = read_images(spec.images, "precision.evaluate.images") if spec.images else _from_data(recipe, "search")
    return found.first(spec.max_images) if found else None


def role_warnings(recipe: Recipe, roles: list[str]) -> list[str]:
    """A holdout under MIN_HOLDOUT_IMAGES, a dataset YAML whose splits share images, and holdout images that `roles`
    (calibration, search) also use."""
    holdout = verify_set(recipe)
    if holdout is None:
        return []
    warnings = [f"the holdout has {len(holdout.images)} images ({holdout.source}), under the {MIN_HOLDOUT_IMAGES} "
                f"its numbers need: pass a larger --holdout or --data"] if len(holdout.images) < MIN_HOLDOUT_IMAGES \
        else []
    finders = {"calibration": calibration_set, "search": search_set}
    if "calibration" in roles and not recipe.precision.calibration.images and \
            recipe.data.suffix.lower() in DATASET_SUFFIXES:
        train, val = (set(read_images(recipe.data, "data", split=split).images) for split in ("train", "val"))
        shared = train & val
        if shared:
            warnings.append(f"{recipe.data}: its train and val splits share {len(shared)} images; calibration "
                            f"takes none of the holdout's (pass --calib with other images to calibrate on more)")
    for role in roles:
        other = finders[role](recipe)
        shared = len(set(holdout.images) & set(other.images)) if other else 0
        if shared:
            warnings.append(f"{shared} of the {len(holdout.images)} holdout images are also {role} images "
                            f"({other.source}; {holdout.source}): the holdout is not unseen by {role}; pass "
                            f"{ROLE_FLAGS[role]} with other images")
    return warnings


def describe_roles(sets: dict[str, ImageSet]) -> dict[str, dict]:
    """For the report: each role's source and the files in it."""
    return {role: {"source": found.source, "images": len(found.images), "files": [p.name for p in found.images]}
            for role, found in sets.items()}


def preflight(recipe: Recipe, stages: list[str]) -> None:
    """Resolve every image source the build's stages will read, so a wrong path or a missing --calib stops the build
    (exit 2) before its first stage rather than after minutes of export."""
    if "check" in stages:
        check_set(recipe)
    if "precision" in stages and recipe.precision.method == "graph":
        verify_set(recipe)
        if recipe.precision.mode == "int8":
            required_calibration(recipe)
            if recipe.precision.int8.auto_keep_fp32:
                search_set(recipe)
    if "verify" in stages:
        verify_set(recipe)


NONE_MEANS = {"calibration": "none: int8 would stop; pass --calib FOLDER or DATASET.yaml",
              "search": "none: precision.int8.auto_keep_fp32 is skipped",
              "holdout": f"none: accuracy and gates not measured ({NO_DATA_HINT})"}


def describe_sources(recipe: Recipe) -> dict[str, str]:
    """What each stage would read, for `trtbuild show` (a problem is described, not raised)."""
    described = {}
    for stage, find in (("check", check_set), ("calibration", calibration_set), ("search", search_set),
                        ("holdout", verify_set)):
        try:
            found = find(recipe)
        except UsageError as exc:
            described[stage] = f"error: {exc}"
            continue
        described[stage] = found.describe() if found else NONE_MEANS[stage]
    return described
