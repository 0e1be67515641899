"""A small generic name -> object registry with lazy entry-point discovery.

Used for scorers (entry-point group ``symile_bench.scorers``); anything else in the harness that
users extend by name can use the same class. Lookup order: objects registered in this process,
then the entry-point group (loaded lazily, on the first miss).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar, overload

from symile_bench.harness.errors import HarnessInputError

T = TypeVar("T")


class Registry(Generic[T]):
    """Names to objects of one kind (``kind`` is used in error messages, e.g. "scorer")."""

    def __init__(self, kind: str, option: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.option = option
        self.entry_point_group = entry_point_group
        self._items: dict[str, T] = {}
        self._entry_points_loaded = entry_point_group is None

    @overload
    def register(self, name: str, obj: T, *, overwrite: bool = ...) -> T: ...
    @overload
    def register(
        self, name: str, obj: None = ..., *, overwrite: bool = ...
    ) -> Callable[[T], T]: ...

    def register(self, name: str, obj: T | None = None, *, overwrite: bool = False):
        """Register ``obj`` under ``name``; without ``obj`` returns a decorator."""

        def add(item: T) -> T:
            if not name or not isinstance(name, str):
                raise HarnessInputError(
                    f"{self.kind} name must be a non-empty string, got {name!r}"
                )
            if name in self._items and not overwrite:
                raise HarnessInputError(
                    f"a {self.kind} named {name!r} is already registered; pick another name "
                    "or pass overwrite=True"
                )
            self._items[name] = item
            return item

        return add if obj is None else add(obj)

    def unregister(self, name: str) -> None:
        self._items.pop(name, None)

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in entry_points(group=self.entry_point_group):
            if ep.name not in self._items:
                self._items[ep.name] = ep.load()

    def get(self, name: str) -> T:
        if name not in self._items:
            self._load_entry_points()
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise HarnessInputError(
                f"unknown {self.kind} {name!r} for {self.option} (known: {known}); register it "
                f"first or use one of the known names"
            ) from None

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        self._load_entry_points()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
