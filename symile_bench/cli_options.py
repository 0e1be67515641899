"""Turn a builder's pydantic Config into typer options, so every builder (ours or a
third-party one) gets a complete `symile-bench build NAME --help` without CLI code of its own."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer
from pydantic.fields import FieldInfo
from rich.console import Console

from symile_bench.builder import BuilderConfig

_SCALARS = (int, float, bool, str, Path)

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True, highlight=False)

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")]
DatasetDir = Annotated[
    Path, typer.Argument(help="A dataset directory written by `symile-bench build`.")
]
# A location that may also be an fsspec URL (s3://bucket/prefix, gs://..., file://...).
Location = Annotated[
    str, typer.Argument(help="A dataset directory (a path or an fsspec URL such as s3://...).")
]


def _cli_type(annotation: Any) -> type:
    """Scalars map to themselves; lists, tuples, literals and dicts are typed as comma strings
    that the Config's validators parse (one parsing rule for CLI and Python callers)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _cli_type(args[0]) if len(args) == 1 else str
    return annotation if annotation in _SCALARS else str


def _shown_default(field: FieldInfo) -> str:
    default = field.get_default(call_default_factory=True)
    if default is None:
        return "none"
    if isinstance(default, (tuple, list)):
        return ",".join(str(x) for x in default)
    if isinstance(default, bool):
        return "on" if default else "off"
    return str(default)


def _help(field: FieldInfo, annotation: Any) -> str:
    text = field.description or ""
    if typing.get_origin(annotation) is Literal:
        text += f" One of: {', '.join(map(str, typing.get_args(annotation)))}."
    return text


def config_parameters(config_cls: type[BuilderConfig]) -> list[inspect.Parameter]:
    """Keyword parameters (default None = "use the Config default") for a typer command."""
    params = []
    for name, field in config_cls.model_fields.items():
        extra = field.json_schema_extra
        if isinstance(extra, dict) and extra.get("cli") is False:
            continue  # recorded by the builder's `prepare`, not chosen (BuilderConfig)
        cli_type = _cli_type(field.annotation)
        flag = "--" + name.replace("_", "-")
        decls = (f"{flag}/--no-{name.replace('_', '-')}",) if cli_type is bool else (flag,)
        option = typer.Option(
            *decls,
            help=_help(field, field.annotation),
            show_default=_shown_default(field),
            rich_help_panel=f"{config_cls.__name__.removesuffix('Config')} options",
        )
        params.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[Optional[cli_type], option],  # noqa: UP045
            )
        )
    return params


def with_parameters(func: Callable[..., Any], params: list[inspect.Parameter]) -> Callable:
    """Give `func(**kwargs)` an explicit signature that typer can read."""
    func.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    func.__annotations__ = {p.name: p.annotation for p in params}
    return func
