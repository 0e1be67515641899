"""One registry for everything users extend by name, and the one declaration a benchmark makes.

A registry maps names to objects of one kind (builders, commands, models, scorers, candidate
rules, baseline recipes, reproductions, export formats). Lookup order: objects registered in
this process (``register``), then lazy import paths, found once and imported only when their
name is first asked for, so a slow or broken plugin costs nothing until it is used. The lazy
paths come from three places:

* ``builtin``: the toolkit's own generic entries (a scorer, an example model);
* a **benchmark declaration** (``Benchmark``): one per benchmark package, registered under the
  entry-point group ``symile_bench.benchmarks``; it names everything the benchmark offers
  (its builder and importers, commands, models, recipes, reproduction, export formats), and
  each registry reads its own facet of every declaration;
* the registry's own entry-point group (``symile_bench.builders``, ``symile_bench.models``,
  ...), for a third-party package that adds one thing without being a benchmark.

Core never imports a benchmark by name. An unknown name is one error line that names the
option, suggests the closest known name and lists them all.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from symile_bench.errors import ConfigError, SymileBenchError

if TYPE_CHECKING:
    from symile_bench.builder import DatasetBuilder

T = TypeVar("T")

#: the facets of a `Benchmark`: each is read by the registry of that kind
FACETS = ("builders", "commands", "exporters", "models", "recipes", "reproductions")


@dataclass(frozen=True)
class Benchmark:
    """Everything one benchmark package offers, declared once, in its ``__init__.py``.

    Each facet maps a name to an import path ``module:attribute``; nothing is imported until the
    name is used, so the declaration stays cheap for `symile-bench --help`. The package registers
    the declaration under the entry-point group ``symile_bench.benchmarks`` (one line in its
    ``pyproject.toml``). By convention the *build side* lives in ``<package>.build`` (core,
    media and lexicon only) and the *model side* in ``<package>.models`` (may use the harness and
    the baselines); the import contracts in ``pyproject.toml`` hold ours to it.

    * ``builders``: ``build NAME`` (and ``import NAME SOURCE`` for an importer of a release);
    * ``commands``: extra top-level commands (``fake-mimic``, ``xor-info``);
    * ``exporters``: ``export --format NAME``;
    * ``models``: ``evaluate --model NAME`` (oracles, released checkpoints);
    * ``recipes``: the baseline recipe for datasets of a builder (key: the builder's name);
    * ``reproductions``: ``reproduce NAME`` (a ``baselines.reproduce.Reproduction``).
    """

    name: str
    description: str = ""
    builders: Mapping[str, str] = field(default_factory=dict)
    commands: Mapping[str, str] = field(default_factory=dict)
    exporters: Mapping[str, str] = field(default_factory=dict)
    models: Mapping[str, str] = field(default_factory=dict)
    recipes: Mapping[str, str] = field(default_factory=dict)
    reproductions: Mapping[str, str] = field(default_factory=dict)

    def facet(self, facet: str) -> Mapping[str, str]:
        if facet not in FACETS:
            raise KeyError(facet)
        value: Mapping[str, str] = getattr(self, facet)
        return value


class Registry(Generic[T]):
    """Names to objects of one ``kind`` (used in messages: "builder", "scorer", ...).

    ``group``: the entry-point group third-party packages register single entries under.
    ``facet``: the `Benchmark` field whose entries this registry also serves. ``builtin``:
    the toolkit's own lazy entries (name -> ``module:attribute``). ``option``: the CLI option
    or attribute that takes the name (for messages). ``load``: turns what an import path loads
    into the registered object (e.g. instantiate a builder class) and checks its type; it may
    raise ``SymileBenchError`` with the reason. ``error``: the error class raised for unknown
    names and bad registrations (a layer's own ``ConfigError`` subclass), so callers catch what
    they already catch.
    """

    def __init__(
        self,
        kind: str,
        *,
        group: str | None = None,
        facet: str | None = None,
        builtin: Mapping[str, str] | None = None,
        option: str | None = None,
        load: Callable[[Any], T] | None = None,
        error: type[SymileBenchError] = ConfigError,
        hint: str = "",
    ) -> None:
        if facet is not None and facet not in FACETS:
            raise ValueError(f"unknown benchmark facet {facet!r}")
        self.kind = kind
        self.group = group
        self.facet = facet
        self.option = option
        self.hint = hint
        self._builtin = dict(builtin or {})
        self._load = load
        self._error = error
        self._items: dict[str, T] = {}
        self._points: dict[str, EntryPoint] | None = None
        self._owners: dict[str, str] = {}

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
        """Every lazy entry by name: built-in, declared by a benchmark, then the entry-point
        group (found once; nothing is imported beyond the benchmark declarations)."""
        if self._points is None:
            points: dict[str, EntryPoint] = {}
            group = self.group or ""
            for name, path in self._builtin.items():
                points[name] = EntryPoint(name, path, group)
            if self.facet is not None:
                for bench in BENCHMARKS.declarations():
                    for name, path in bench.facet(self.facet).items():
                        if name not in points:
                            points[name] = EntryPoint(name, path, group)
                            self._owners[name] = bench.name
            if self.group:
                for ep in entry_points(group=self.group):
                    points.setdefault(ep.name, ep)
            self._points = points
        return self._points

    def benchmark_of(self, name: str) -> str | None:
        """The benchmark whose declaration provides ``name`` (None: built-in or standalone)."""
        self.entry_points()
        return self._owners.get(name)

    def names(self) -> list[str]:
        return sorted({*self._items, *self.entry_points()})

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._items or name in self.entry_points())

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def get(self, name: str) -> T:
        """The object registered as ``name``, importing its entry on first use."""
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


def _loaded_benchmark(obj: Any) -> Benchmark:
    if not isinstance(obj, Benchmark):
        raise ConfigError(
            "an entry point of group symile_bench.benchmarks must load a "
            f"symile_bench.registry.Benchmark, got {type(obj).__name__}"
        )
    return obj


class BenchmarkRegistry(Registry[Benchmark]):
    """The benchmark declarations; a declaration that cannot be imported is remembered (for
    `symile-bench list`) instead of breaking every other benchmark."""

    def __init__(self) -> None:
        super().__init__("benchmark", group="symile_bench.benchmarks", load=_loaded_benchmark)
        self.broken: dict[str, str] = {}

    def declarations(self) -> list[Benchmark]:
        found = []
        for name in self.names():
            try:
                found.append(self.get(name))
            except Exception as exc:  # one broken package must not hide the others
                self.broken[name] = f"{type(exc).__name__}: {exc}"
        return found


BENCHMARKS = BenchmarkRegistry()


def _instantiate_builder(cls: Any) -> DatasetBuilder[Any]:
    from symile_bench.builder import DatasetBuilder

    builder = cls() if isinstance(cls, type) else cls
    if not isinstance(builder, DatasetBuilder):
        raise ConfigError(
            f"{cls!r}, registered as a builder, must be a DatasetBuilder subclass, got "
            f"{type(builder).__name__}"
        )
    return builder


BUILDERS: Registry[DatasetBuilder[Any]] = Registry(
    "builder", group="symile_bench.builders", facet="builders", load=_instantiate_builder
)
# Top-level CLI commands that benchmark packages add (`fake-mimic`): typer command functions.
COMMANDS: Registry[Callable[..., Any]] = Registry(
    "command", group="symile_bench.commands", facet="commands"
)


def builder_names() -> list[str]:
    return BUILDERS.names()


def get_builder(name: str) -> DatasetBuilder[Any]:
    return BUILDERS.get(name)
