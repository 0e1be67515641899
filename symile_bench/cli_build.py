"""`symile-bench build NAME` and `symile-bench import NAME SOURCE`: one generated subcommand
per installed builder (for `import`: per builder that reads a release, `source_field`), with the
options every build has (--out, --seed, --workers, --blind, ...) and the builder's own, from
its pydantic `Config` (`options`). An import is a build whose SOURCE fills the Config field
the builder names, so both commands share this one code path."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from symile_bench.builder import BuilderConfig
from symile_bench.console import Quiet, console, err_console
from symile_bench.errors import SymileBenchError
from symile_bench.registry import builder_names, get_builder


def register_builder_commands(build_app: typer.Typer) -> None:
    for name in builder_names():
        _register_builder_command(build_app, name)


def register_import_commands(import_app: typer.Typer) -> None:
    """One `import NAME SOURCE` per builder that declares a `source_field` (an importer of a
    release). A builder that fails to load is listed, unavailable, under `build` only: whether
    it is an importer cannot be known without loading it."""
    for name in builder_names():
        try:
            builder = get_builder(name)
        except Exception:  # reported by `build NAME` and `list`
            continue
        if builder.source_field is not None:
            _register_builder_command(import_app, name, source_field=builder.source_field)


def _source_parameter(config_cls: type[BuilderConfig], field: str) -> inspect.Parameter:
    """The positional SOURCE of `import NAME SOURCE`, documented by the Config field it fills."""
    info = config_cls.model_fields[field]
    return inspect.Parameter(
        "source",
        inspect.Parameter.KEYWORD_ONLY,
        annotation=Annotated[
            Path,
            typer.Argument(
                metavar="SOURCE",
                help=f"{info.description or 'The release to import.'} (fills --"
                f"{field.replace('_', '-')} of `symile-bench build`)",
                show_default=False,
            ),
        ],
    )


def _common_build_parameters(name: str) -> list[inspect.Parameter]:
    def option(pname: str, annotation: Any, default: Any) -> inspect.Parameter:
        return inspect.Parameter(
            pname, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
        )

    return [
        option(
            "out",
            Annotated[
                str,
                typer.Option(
                    "--out",
                    "-o",
                    help="Output directory: a path, or an fsspec URL (s3://, gs://, "
                    "...) that every worker can write. Rerunning the same command resumes an "
                    "interrupted build; a different config there is refused unless --overwrite.",
                ),
            ],
            name if name.startswith("symile") else f"symile-{name}",
        ),
        option(
            "seed",
            Annotated[
                int, typer.Option(help="Root seed: same config + seed gives byte-identical shards.")
            ],
            0,
        ),
        option(
            "workers",
            Annotated[
                int | None,
                typer.Option(
                    help="Worker processes (default: all cores). The output does not depend on it.",
                    show_default="all cores",
                ),
            ],
            None,
        ),
        option(
            "executor",
            Annotated[
                str,
                typer.Option(
                    help="Where tasks run: 'processes' (a local pool), 'serial', or 'ray' (a Ray "
                    "cluster; needs the ray extra and --out on a filesystem every node sees)."
                ),
            ],
            "processes",
        ),
        option(
            "ray_address",
            Annotated[
                str | None,
                typer.Option(
                    help="With --executor ray: the cluster to join ('auto', 'ray://HOST:PORT'); "
                    "default: start a local Ray with --workers CPUs."
                ),
            ],
            None,
        ),
        option(
            "shards",
            Annotated[
                str | None,
                typer.Option(
                    help="Build only shard indices START:END (END exclusive) of the plan, e.g. "
                    "one range per SLURM array task into a shared --out; then run `symile-bench "
                    "finalize OUT` once. Pools are built by whichever job needs them first.",
                    show_default="all",
                ),
            ],
            None,
        ),
        option(
            "overwrite",
            Annotated[
                bool,
                typer.Option(
                    help="Replace a build with a different config in --out (only files the "
                    "toolkit wrote there are removed)."
                ),
            ],
            False,
        ),
        option(
            "blind",
            Annotated[
                bool,
                typer.Option(
                    "--blind",
                    help="Publish the test split without its answers: the builder's answer "
                    "columns are null there, and the answer keys go to --answer-key for the "
                    "leaderboard operator (`symile-bench leaderboard add --answer-key FILE`).",
                ),
            ],
            False,
        ),
        option(
            "answer_key",
            Annotated[
                Path | None,
                typer.Option(
                    "--answer-key",
                    help="With --blind: the answer-key file to write (outside --out).",
                    show_default=False,
                ),
            ],
            None,
        ),
        option("quiet", Quiet, False),
    ]


def _register_builder_command(
    build_app: typer.Typer, name: str, source_field: str | None = None
) -> None:
    """`build NAME`, or with `source_field` `import NAME SOURCE` (SOURCE fills that field)."""
    from symile_bench.options import config_parameters, with_parameters

    try:
        builder = get_builder(name)
    except Exception as exc:  # a broken builder package must not break every other command
        message = f"builder '{name}' could not be loaded: {type(exc).__name__}: {exc}"

        def broken() -> None:
            raise SymileBenchError(message)

        build_app.command(name=name, help=f"(unavailable) {message}")(broken)
        return

    def command(**kwargs: Any) -> None:
        from symile_bench.build import build, parse_config, parse_shard_range
        from symile_bench.executors import make_executor

        common = {
            k: kwargs.pop(k)
            for k in (
                "out",
                "seed",
                "workers",
                "executor",
                "ray_address",
                "shards",
                "overwrite",
                "blind",
                "answer_key",
                "quiet",
            )
        }
        from symile_bench.cli_blind import blind_request

        release = blind_request(common["blind"], common["answer_key"])
        if source_field is not None:
            kwargs[source_field] = kwargs.pop("source")
        config = parse_config(builder, {k: v for k, v in kwargs.items() if v is not None})
        shard_range = parse_shard_range(common["shards"]) if common["shards"] else None
        result = build(
            builder,
            config,
            common["out"],
            seed=common["seed"],
            executor=make_executor(common["executor"], common["workers"], common["ray_address"]),
            overwrite=common["overwrite"],
            quiet=common["quiet"],
            warn=lambda message: err_console.print(f"[yellow]warning:[/] {escape(message)}"),
            shard_range=shard_range,
            finish_step=release,
        )
        if result.manifest is None:
            if not common["quiet"]:
                console.print(
                    f"[green]✓[/] shards {common['shards']} of {name} at {result.out_dir} "
                    f"({result.built} files written, {result.skipped} kept); when every range "
                    f"is done: symile-bench finalize {result.out_dir}"
                )
            return
        if not common["quiet"]:
            m = result.manifest
            rows = sum(r.rows for v in m.variants.values() for r in v.splits.values())
            console.print(
                f"[green]✓[/] {name}: {rows:,} rows in {len(m.variants)} config(s) at "
                f"{result.out_dir} ({result.built} files written, {result.skipped} kept); "
                f"fingerprint {m.fingerprint[:16]}"
            )
            if release is not None:
                console.print(
                    f"[green]✓[/] test answers withheld; answer key at {release.answer_key} "
                    "(keep it private: symile-bench leaderboard add --answer-key "
                    f"{release.answer_key})"
                )

    options = config_parameters(builder.Config)
    params = [*_common_build_parameters(name), *options]
    if source_field is not None:
        source = _source_parameter(builder.Config, source_field)
        params = [source, *(p for p in params if p.name != source_field)]
    build_app.command(name=name, help=builder.description)(with_parameters(command, params))
