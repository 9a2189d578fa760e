"""Read recipe YAML defensively: a size limit, strict UTF-8, no anchors/aliases, bounded nesting.

A recipe is a small hand-written document. These limits turn hostile or broken input (a 10 MB file, latin-1 bytes,
a billion-laughs alias bomb, a value PyYAML cannot construct) into one line that says where, before anything large
is built in memory. Plain `yaml.safe_load` already refuses `!!python/...` tags; it does not stop alias expansion.

Finding a recipe reads every recipe's name, so each start parses every recipe: PyYAML's pure-Python loader and its
import were ~40 ms of a fully cached build. A parsed document is therefore kept in the user cache (`recipes/`) under
the digest of its text and of the code that parses it (this module, PyYAML's modules, the Python version) and read
back with `marshal`, as Python keeps a module's bytecode beside its source; it is never stale, because any change of
the text or of the parser is another name. A document holding a value marshal cannot write (a date) is not kept; a
text that fails to parse is parsed, and refused, every time.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import marshal
import os
import sys
from pathlib import Path

from trtbuild.core import default_cache_dir
from trtbuild.core.errors import UsageError
from trtbuild.core.stale import write_atomically

MAX_RECIPE_BYTES = 1 << 20  # 1 MiB; the packaged recipes are ~2 KB
MAX_NESTING = 32
# recipe text -> its document: finding a recipe reads every recipe's name, then loading reads the chosen one again;
# each text is read once per process (callers get a copy they may change)
_parsed: dict[str, object] = {}
_BOMS = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32", b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}


@functools.cache
def _recipe_loader() -> type:
    """SafeLoader that refuses anchors and aliases (so nothing expands), deep nesting, and unconstructible values.
    Made on first use: a build whose recipes are all in the user cache never imports PyYAML."""
    import yaml

    class RecipeLoader(yaml.SafeLoader):
        def __init__(self, stream):
            super().__init__(stream)
            self._depth = 0

        def compose_node(self, parent, index):
            event = self.peek_event()
            if event.anchor is not None:
                what = "alias" if isinstance(event, yaml.AliasEvent) else "anchor"
                raise _refusal(f"YAML {what} '{event.anchor}' found; anchors and aliases (&name, *name) are not "
                               "allowed in recipes, write the value out", event.start_mark)
            self._depth += 1
            if self._depth > MAX_NESTING:
                raise _refusal(f"nested deeper than {MAX_NESTING} levels", event.start_mark)
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

        def construct_object(self, node, deep=False):
            try:
                return super().construct_object(node, deep)
            except (ValueError, OverflowError, TypeError) as exc:  # e.g. `2001-13-45` as a date, a 5000-digit int
                raise _refusal(f"cannot read this value ({' '.join(str(exc).split())[:120]})",
                               node.start_mark) from None

    return RecipeLoader


def _refusal(problem: str, mark):
    import yaml

    return yaml.MarkedYAMLError(problem=problem, problem_mark=mark)


def read_recipe_file(path: Path) -> object:
    """The YAML document in `path` (any type; the caller checks it is a mapping)."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_RECIPE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read recipe ({exc.strerror})") from None
    if len(raw) > MAX_RECIPE_BYTES:
        raise UsageError(f"{path}: recipe is larger than the {MAX_RECIPE_BYTES >> 20} MiB limit "
                         "(a recipe is a short YAML file; keep data in files it points to)")
    text = _decode(raw, path)
    if text not in _parsed:
        _parsed[text] = _stored_or_parsed(text, str(path))
    return copy.deepcopy(_parsed[text])


def _stored_or_parsed(text: str, source: str) -> object:
    """`parse_yaml(text, source)`, read back from the user cache when an earlier process stored it (module doc)."""
    stored = _stored_path(text)
    if stored is not None:
        try:
            return marshal.loads(stored.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):  # not stored yet (or damaged): parse it
            pass
    document = parse_yaml(text, source)
    if stored is not None:
        try:
            data = marshal.dumps(document)  # ValueError for anything but builtin types (a date, a time)
            stored.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(stored, data)
        except (OSError, ValueError):  # not storable, or a read-only or full cache: the next process parses again
            pass
    return document


def _stored_path(text: str) -> Path | None:
    parser = _parser_digest()
    if parser is None:
        return None
    key = hashlib.sha256(f"{parser}\n{text}".encode()).hexdigest()
    return default_cache_dir() / "recipes" / key


@functools.cache
def _parser_digest() -> str | None:
    """Digest of what decides a text's document: this module, PyYAML's modules and the Python version (found without
    importing PyYAML); None when PyYAML's source cannot be read (then nothing is stored)."""
    import importlib.util

    spec = importlib.util.find_spec("yaml")
    try:
        folder = Path(spec.origin).parent
        sources = [Path(__file__), *sorted(folder / name for name in os.listdir(folder) if name.endswith(".py"))]
        h = hashlib.sha256(sys.version.encode())
        for source in sources:
            h.update(f"\0{source.name}\0".encode() + source.read_bytes())
    except (AttributeError, TypeError, OSError):  # no spec or origin, or a package inside a zip
        return None
    return h.hexdigest()


def parse_yaml(text: str, source: str) -> object:
    """YAML text (a recipe or a `--set` value) -> data; `source` names it in the error line."""
    import yaml

    try:
        return yaml.load(text, Loader=_recipe_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise UsageError(f"{source}: not valid YAML{where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:  # ReaderError: a control character, with its position
        raise UsageError(f"{source}: not valid YAML ({' '.join(str(exc).split())})") from None


def _decode(raw: bytes, path: Path) -> str:
    for bom, encoding in _BOMS.items():
        if raw.startswith(bom):
            raise UsageError(f"{path}: starts with a {encoding} byte-order mark; recipes must be UTF-8 "
                             "(save the file as UTF-8)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise UsageError(f"{path}: not UTF-8: byte 0x{raw[exc.start]:02x} at byte offset {exc.start} (line {line}) "
                         "cannot be decoded; recipes must be UTF-8 (save the file as UTF-8)") from None


def read_yaml_mapping(path: Path, where: str, kind: str, shape: str) -> dict:
    """A small YAML file that must hold a mapping (a dataset or a matrix YAML), else one line: `where` prefixes it
    (the file, and the key that named it), `kind` names the document and `shape` says what the mapping holds."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"{where}: not a readable {kind} YAML ({' '.join(str(exc).split())[:200]})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{where}: a {kind} YAML is a mapping {shape}")
    return data
