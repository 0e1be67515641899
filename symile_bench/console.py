"""The terminal every command writes to, and the options every command shares, defined once.

``console`` is stdout (results, tables), ``err_console`` stderr (errors, warnings: never mixed
into output a user pipes on). Off a terminal, ``console`` wraps at 160 columns rather than 80 so
tables written to a file or a CI log stay readable.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, soft_wrap=True, highlight=False)

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")]
DatasetDir = Annotated[
    Path, typer.Argument(help="A dataset directory written by `symile-bench build`.")
]
# A location that may also be an fsspec URL (s3://bucket/prefix, gs://..., file://...).
Location = Annotated[
    str, typer.Argument(help="A dataset directory (a path or an fsspec URL such as s3://...).")
]


def reflow(text: str | None) -> str | None:
    """A docstring as help text: its paragraphs kept, the line breaks inside each joined (the
    source wraps at 100 columns, the terminal elsewhere; a list keeps one item a line)."""
    if not text:
        return text
    paragraphs = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        lines = [line.strip() for line in paragraph.splitlines()]
        if any(line[:1] in "-*•" or line[:2].rstrip(".").isdigit() for line in lines[1:]):
            paragraphs.append("\n".join(lines))
        else:
            paragraphs.append(" ".join(lines))
    return "\n\n".join(paragraphs)


def reflow_help(app: typer.Typer) -> None:
    """Reflow the help of every command and group of ``app``, at any depth (see `reflow`)."""
    for command in app.registered_commands:
        command.help = reflow(command.help or inspect.getdoc(command.callback))
    for group in app.registered_groups:
        sub = group.typer_instance
        if sub is None:
            continue
        if isinstance(sub.info.help, str):
            sub.info.help = reflow(sub.info.help)
        reflow_help(sub)
