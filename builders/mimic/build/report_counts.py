"""What the build report says about dropped rows: a count and a few examples per kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["EXAMPLES", "Counter"]

EXAMPLES = 5  # example paths kept per error kind in the build report


@dataclass
class Counter:
    """Counts and a few examples per kind, for the build report."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, n: int, examples: list[str] | None = None) -> None:
        if n <= 0:
            return
        self.counts[kind] = self.counts.get(kind, 0) + int(n)
        if examples:
            kept = self.examples.setdefault(kind, [])
            kept.extend(examples[: EXAMPLES - len(kept)])

    def as_dict(self) -> dict[str, Any]:
        return {
            k: {"count": v, "examples": self.examples.get(k, [])}
            for k, v in sorted(self.counts.items())
        }
