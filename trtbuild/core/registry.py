"""One way to register a part (stage, engine backend, task, model adapter, runner): a Registry declares each name, in
order, with the "module:attr" that implements it and the old spellings that still mean it. Nothing is imported until
a part is loaded, so listing names (CLI help, recipe validation) stays light, and a module that is not declared (a
helper beside the parts) is no part."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Part:
    """One declaration; a registry whose parts carry more (an adapter's input format) declares a subclass."""

    name: str
    target: str  # "module:attr", imported when the part is loaded
    aliases: tuple[str, ...] = ()  # old spellings: recipes and options may still use them


class Registry(Mapping[str, Part]):
    """name -> its Part, in declaration order; an old spelling finds its part too, iteration gives the names."""

    def __init__(self, kind: str, parts: list[Part], plural: str | None = None):
        self.kind, self.plural = kind, plural or f"{kind}s"  # for messages: unknown task 'x' (tasks: ...)
        self._parts = {part.name: part for part in parts}
        self.aliases = {alias: part.name for part in parts for alias in part.aliases}  # old spelling -> name

    def __getitem__(self, name: str) -> Part:
        part = self._parts.get(self.aliases.get(name, name))
        if part is None:
            raise KeyError(self.unknown(name))
        return part

    def __iter__(self) -> Iterator[str]:
        return iter(self._parts)

    def __len__(self) -> int:
        return len(self._parts)

    def unknown(self, name: str) -> str:
        return f"unknown {self.kind} {name!r} ({self.plural}: {', '.join(self)})"

    def load(self, name: str):
        """The object the part's target names, imported now (KeyError for an unknown name)."""
        module, _, attr = self[name].target.partition(":")
        return getattr(importlib.import_module(module), attr)
