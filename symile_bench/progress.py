"""One rich progress bar style (count, rate, ETA) for every long-running command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(TextColumn):
    """Items per second, in the unit the bar counts (rows, clips, queries, models, steps)."""

    def __init__(self) -> None:
        super().__init__("")

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        unit = task.fields.get("unit", "rows")
        if not speed:
            return Text(f"? {unit}/s", style="cyan")
        # slow units (models, training steps) need their decimals: 0.02 models/s, not 0
        return Text(
            f"{speed:,.0f} {unit}/s" if speed >= 10 else f"{speed:.2g} {unit}/s", style="cyan"
        )


@contextmanager
def progress_bar(quiet: bool = False, console: Console | None = None) -> Iterator[Progress]:
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        disable=quiet,
        transient=False,
    )
    with progress:
        yield progress
