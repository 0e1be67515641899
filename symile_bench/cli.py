"""The `symile-bench` command. Thin: parse options, call library functions, render with rich."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

import symile_bench
from symile_bench.console import DatasetDir, Location, Quiet, console, err_console, reflow_help
from symile_bench.errors import BuildInterrupted, SymileBenchError

try:  # typer >= 0.22 vendors click; older releases use the click package
    import typer._click as click
    from typer._click import exceptions as click_exc
except ImportError:  # pragma: no cover - depends on the installed typer
    import click  # type: ignore[no-redef]
    import click.exceptions as click_exc  # type: ignore[no-redef]
from symile_bench.baselines.cli import register_reproduce_commands
from symile_bench.baselines.cli import train as baselines_train
from symile_bench.baselines.cli_embed import embed as baselines_embed
from symile_bench.cli_build import register_builder_commands, register_import_commands
from symile_bench.harness.cli import evaluate
from symile_bench.harness.cli_reports import compare, report, validate
from symile_bench.leaderboard.cli import leaderboard_app
from symile_bench.leaderboard.cli import submit as leaderboard_submit
from symile_bench.lexicon.cli import lexicon_app
from symile_bench.registry import COMMANDS, builder_names, get_builder

#: `--help` in the order a user meets the commands
BUILD, CHECK, SCORE, BASELINES, LEADERBOARD = (
    "Build and import",
    "Load and check",
    "Score and compare",
    "Baselines",
    "Leaderboard",
)

#: top-level command names in the order `--help` lists them (`_add` appends)
ORDER: list[str] = []


class WorkflowGroup(TyperGroup):
    """Lists commands in the order they were added (typer lists every group after every
    command), so each panel reads in the order a user meets its commands."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER))


app = typer.Typer(
    cls=WorkflowGroup,
    name="symile-bench",
    help="Build, load and score multimodal benchmarks beyond two modalities (Symile vs CLIP).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(show: bool) -> None:
    if show:
        console.print(f"symile-bench {symile_bench.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Build, load and score multimodal benchmarks beyond two modalities (Symile vs CLIP)."""


build_app = typer.Typer(
    help="Build a benchmark into a dataset directory (Arrow shards + manifest + card).\n\n"
    "Run `symile-bench build NAME --help` for a builder's options.",
    no_args_is_help=True,
)
import_app = typer.Typer(
    help="Import a released dataset (the paper's Symile-M3 or Symile-MIMIC) into a dataset "
    "directory.\n\nThe same shards, manifest and card as a build, so info, verify, "
    "evaluate, compare, report and the leaderboard work on it unchanged. SOURCE is the "
    "release as you downloaded it; every other option is the one of `symile-bench build "
    "NAME` (an importer is also listed there). Run `symile-bench import NAME --help`.",
    no_args_is_help=True,
)
reproduce_app = typer.Typer(
    help="Reproduce a paper's experiment: build, train Symile and CLIP (and any --objectives), "
    "evaluate with intervals, write report.md beside the paper's numbers.\n\nPlots need the "
    "plot extra (matplotlib). Run `symile-bench reproduce NAME --help` for a benchmark's "
    "options.",
    no_args_is_help=True,
)
register_builder_commands(build_app)
register_import_commands(import_app)
register_reproduce_commands(reproduce_app)


def list_builders() -> None:
    """List the installed builders (importers of released datasets included), the benchmark
    each belongs to, and what else each benchmark offers: models, baseline recipes, a
    reproduction, commands."""
    from rich.table import Table

    from symile_bench.registry import BENCHMARKS, BUILDERS

    table = Table("builder", "benchmark", "version", "description")
    for name in builder_names():
        owner = BUILDERS.benchmark_of(name) or "(standalone)"
        try:
            builder = get_builder(name)
        except Exception as exc:  # one broken package must not hide the others
            table.add_row(name, owner, "?", f"[red]unavailable: {type(exc).__name__}: {exc}[/]")
            continue
        table.add_row(name, owner, builder.version, builder.description)
    console.print(table)
    for bench in BENCHMARKS.declarations():
        offers = [
            f"{label} {', '.join(names)}"
            for label, names in (
                ("models", bench.models),
                ("recipes for", bench.recipes),
                ("reproduce", bench.reproductions),
                ("commands", bench.commands),
                ("export formats", bench.exporters),
            )
            if names
        ]
        console.print(f"[bold]{bench.name}[/]: " + ("; ".join(offers) or "builders only"))
    for name, problem in BENCHMARKS.broken.items():
        err_console.print(f"[red]benchmark {name!r} unavailable:[/] {escape(problem)}")


def info(path: Location) -> None:
    """Summarise a dataset directory: card title, build settings, configs, splits, rows."""
    from symile_bench.manifest import read_manifest
    from symile_bench.storage import Store

    store = Store(path)
    manifest = read_manifest(store)
    card = store.read_text("README.md").splitlines() if store.is_file("README.md") else []
    title = next((ln.lstrip("# ").strip() for ln in card if ln.startswith("# ")), manifest.builder)
    console.print(f"[bold]{title}[/]  ({path})")
    console.print(
        f"builder {manifest.builder} {manifest.builder_version} · toolkit "
        f"{manifest.toolkit_version} · seed {manifest.seed}\nfingerprint {manifest.fingerprint}"
    )
    from rich.table import Table

    table = Table("config", "split", "rows", "shards", "fingerprint")
    for variant, record in manifest.variants.items():
        for split, rec in record.splits.items():
            table.add_row(
                variant, split, f"{rec.rows:,}", str(len(rec.shards)), rec.fingerprint[:16]
            )
    console.print(table)
    for task in manifest.tasks:
        query = ", ".join(m.name for m in task.modalities if m.name != task.target)
        rules = ", ".join(r.name for r in task.candidates)
        console.print(
            f"task {task.name}: ({query}) -> {task.target}, candidates {rules}, chance "
            f"{task.chance_label}" + "".join(f", {r.label}" for r in task.references)
        )
    console.print("config: " + ", ".join(f"{k}={v}" for k, v in manifest.config.items()))


def finalize(
    path: Location,
    blind: Annotated[
        bool, typer.Option("--blind", help="Withhold the test answers, as `build --blind` does.")
    ] = False,
    answer_key: Annotated[
        Path | None,
        typer.Option(
            "--answer-key",
            help="With --blind: the answer-key file to write (outside PATH).",
            show_default=False,
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Finish a build made of `--shards` jobs: check every pool and shard, then write the
    manifest and card. Exits 1 naming the first missing shard and the range to rebuild."""
    from symile_bench.cli_blind import blind_request
    from symile_bench.finalize import finalize as finalize_build

    manifest = finalize_build(path, blind_request(blind, answer_key))
    if not quiet:
        console.print(
            f"[green]✓[/] {path}: {len(manifest.all_files())} files, fingerprint "
            f"{manifest.fingerprint[:16]}"
        )


def verify(path: Location, quiet: Quiet = False) -> None:
    """Check the directory is complete (manifest, card and croissant whole, no unfinished build)
    and re-hash every shard and pool against the manifest; exit 1, one line per problem."""
    from symile_bench.dataset_dir import verify as verify_dir
    from symile_bench.storage import Store

    store = Store(path)
    manifest, problems = verify_dir(store)
    for problem in problems:
        where = escape(store.path(problem.file))
        err_console.print(f"[red]✗[/] {where}: {escape(problem.problem)}", soft_wrap=True)
    if problems or manifest is None:
        raise typer.Exit(1)
    if not quiet:
        console.print(f"[green]✓[/] {len(manifest.all_files())} files match the manifest")


def export(
    path: DatasetDir,
    out: Annotated[Path, typer.Option("--out", "-o", help="New directory for the copy.")],
    format: Annotated[
        str,
        typer.Option(
            "--format",
            help="Output format: 'parquet' (the Hub's, same features and card), or another "
            "installed format (entry-point group symile_bench.exporters).",
        ),
    ] = "parquet",
) -> None:
    """Write a copy of a dataset directory in another format (resumable: rerun to continue)."""
    from symile_bench.exporters import EXPORTERS

    EXPORTERS.get(format)(path, out)
    console.print(f"[green]✓[/] exported {path} as {format} to {out}")


def _add(name: str, command: Any, panel: str) -> None:
    """Add a command (a function) or a group (a typer app) under ``panel``."""
    ORDER.append(name)
    if isinstance(command, typer.Typer):
        app.add_typer(command, name=name, rich_help_panel=panel)
    else:
        app.command(name=name, rich_help_panel=panel)(command)


# The commands, panel by panel in the order a user meets them.
_add("build", build_app, BUILD)
_add("import", import_app, BUILD)
_add("finalize", finalize, BUILD)
_add("export", export, BUILD)
_add("lexicon", lexicon_app, BUILD)
_add("list", list_builders, CHECK)
_add("info", info, CHECK)
_add("verify", verify, CHECK)
for _name in COMMANDS.names():  # benchmark packages' own commands (`fake-mimic`, `xor-info`)
    _command = COMMANDS.get(_name)
    # a benchmark's command names its panel (`rich_help_panel`); default: with building
    _add(_name, _command, getattr(_command, "rich_help_panel", BUILD))
for _scoring_command in (evaluate, compare, report, validate):
    _add(_scoring_command.__name__, _scoring_command, SCORE)
_add("embed", baselines_embed, BASELINES)
_add("train", baselines_train, BASELINES)
_add("reproduce", reproduce_app, BASELINES)
_add("submit", leaderboard_submit, LEADERBOARD)
_add("leaderboard", leaderboard_app, LEADERBOARD)
reflow_help(app)


def main() -> None:
    """Console entry point: user errors become one line on stderr, never a traceback."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=sys.argv[1:], prog_name="symile-bench", standalone_mode=False)
    except BuildInterrupted as exc:
        rerun = shlex.join(["symile-bench", *sys.argv[1:]])
        err_console.print(f"{escape(str(exc))}: {escape(rerun)}", highlight=False, soft_wrap=True)
        sys.exit(130)
    except SymileBenchError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except click_exc.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        err_console.print(
            f"[red]error:[/] {escape(exc.format_message() + hint)}", highlight=False, soft_wrap=True
        )
        sys.exit(2)
    except click_exc.ClickException as exc:
        err_console.print(
            f"[red]error:[/] {escape(exc.format_message())}", highlight=False, soft_wrap=True
        )
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
