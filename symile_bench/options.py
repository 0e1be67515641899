"""Options declared once, as a pydantic model, and used twice: as typer options (so every
builder's Config, ours or a third party's, and every reproduction's Options get a complete
`--help` without CLI code of their own) and to validate what a caller passed, with errors that
name the CLI option at fault (one parsing rule for CLI and Python callers)."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from symile_bench.errors import ConfigError

_SCALARS = (int, float, bool, str, Path)
M = TypeVar("M", bound=BaseModel)


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


def config_parameters(
    config_cls: type[BaseModel], panel: str | None = None
) -> list[inspect.Parameter]:
    """Keyword parameters (default None = "use the Config default") for a typer command, under
    ``panel`` in `--help` (default: "<Config name> options")."""
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
            rich_help_panel=panel or f"{config_cls.__name__.removesuffix('Config')} options",
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


def parse_options(model: type[M], options: dict[str, Any]) -> M:
    """Validate options into ``model``; errors name the CLI option at fault and what it got."""
    try:
        return model(**options)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            option = "--" + "-".join(str(p) for p in err["loc"][:1]).replace("_", "-")
            message = err["msg"].removeprefix("Value error, ")
            got = err.get("input")
            if str(got) not in message:
                message += f" (got {got!r})"
            problems.append(f"{option}: {message}")
        raise ConfigError("; ".join(problems)) from None
