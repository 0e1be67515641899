"""One registry for everything users extend by name: builders, commands, models, scorers,
candidate rules and baseline recipes.

A registry maps names to objects of one kind. Lookup order: objects registered in this process
(``register``), then the registry's entry-point group, discovered once and loaded lazily (an
entry point is imported only when its name is first asked for), so a slow or broken plugin
costs nothing until it is used. Ours are registered through the same entry-point groups a
third-party package would use (``pyproject.toml``); core never imports a builder by name.
An unknown name is one error line that names the option, suggests the closest known name and
lists them all.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar, overload

from symile_bench.builder import DatasetBuilder
from symile_bench.errors import ConfigError, SymileBenchError

T = TypeVar("T")


class Registry(Generic[T]):
    """Names to objects of one ``kind`` (used in messages: "builder", "scorer", ...).

    ``option``: the CLI option or attribute that takes the name (for messages). ``load``: turns
    what an entry point loads into the registered object (e.g. instantiate a builder class) and
    checks its type; it may raise ``SymileBenchError`` with the reason. ``error``: the error
    class raised for unknown names and bad registrations (a layer's own ``ConfigError``
    subclass), so callers catch what they already catch.
    """

    def __init__(
        self,
        kind: str,
        *,
        group: str | None = None,
        option: str | None = None,
        load: Callable[[Any], T] | None = None,
        error: type[SymileBenchError] = ConfigError,
        hint: str = "",
    ) -> None:
        self.kind = kind
        self.group = group
        self.option = option
        self.hint = hint
        self._load = load
        self._error = error
        self._items: dict[str, T] = {}
        self._points: dict[str, EntryPoint] | None = None

    # -- registration ------------------------------------------------------------------------
    @overload
    def register(self, name: str, obj: T, *, overwrite: bool = ...) -> T: ...
    @overload
    def register(
        self, name: str, obj: None = ..., *, overwrite: bool = ...
    ) -> Callable[[T], T]: ...

    def register(
        self, name: str, obj: T | None = None, *, overwrite: bool = False
    ) -> T | Callable[[T], T]:
        """Register ``obj`` under ``name``; without ``obj``, return a decorator."""

        def add(item: T) -> T:
            if not isinstance(name, str) or not name:
                raise self._error(f"{self.kind} name must be a non-empty string, got {name!r}")
            if name in self._items and not overwrite:
                raise self._error(
                    f"a {self.kind} named {name!r} is already registered; pick another name "
                    "or pass overwrite=True"
                )
            self._items[name] = item
            return item

        return add if obj is None else add(obj)

    def unregister(self, name: str) -> None:
        self._items.pop(name, None)

    # -- lookup ------------------------------------------------------------------------------
    def entry_points(self) -> dict[str, EntryPoint]:
        """The group's entry points by name (discovered once; nothing is imported)."""
        if self._points is None:
            found = entry_points(group=self.group) if self.group else ()
            self._points = {ep.name: ep for ep in found}
        return self._points

    def names(self) -> list[str]:
        return sorted({*self._items, *self.entry_points()})

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._items or name in self.entry_points())

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def get(self, name: str) -> T:
        """The object registered as ``name``, loading its entry point on first use."""
        if name in self._items:
            return self._items[name]
        point = self.entry_points().get(name)
        if point is None:
            raise self._error(self.unknown_message(name))
        loaded = point.load()
        item = self._load(loaded) if self._load is not None else loaded
        self._items[name] = item
        return item

    def unknown_message(self, name: str) -> str:
        known = self.names()
        close = difflib.get_close_matches(str(name), known, n=1)
        where = f" for {self.option}" if self.option else ""
        hint = f" Did you mean '{close[0]}'?" if close else ""
        listing = ", ".join(known) or "none installed"
        extra = f" {self.hint}" if self.hint else ""
        return f"unknown {self.kind} {name!r}{where}.{hint} Known: {listing}.{extra}"


def _instantiate_builder(cls: Any) -> DatasetBuilder[Any]:
    builder = cls() if isinstance(cls, type) else cls
    if not isinstance(builder, DatasetBuilder):
        raise ConfigError(
            f"entry point {cls!r} of group symile_bench.builders must load a DatasetBuilder "
            f"subclass, got {type(builder).__name__}"
        )
    return builder


BUILDERS: Registry[DatasetBuilder[Any]] = Registry(
    "builder", group="symile_bench.builders", load=_instantiate_builder
)
# Top-level CLI commands that builder packages add (`fake-mimic`): typer command functions.
COMMANDS: Registry[Callable[..., Any]] = Registry("command", group="symile_bench.commands")


def builder_names() -> list[str]:
    return BUILDERS.names()


def get_builder(name: str) -> DatasetBuilder[Any]:
    return BUILDERS.get(name)
