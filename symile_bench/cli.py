"""The `symile-bench` command. Thin: parse options, call library functions, render with rich."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

import symile_bench
from symile_bench.errors import BuildInterrupted, SymileBenchError

try:  # typer >= 0.22 vendors click; older releases use the click package
    from typer._click import exceptions as click_exc
except ImportError:  # pragma: no cover - depends on the installed typer
    import click.exceptions as click_exc  # type: ignore[no-redef]
from symile_bench.baselines.cli import reproduce as baselines_reproduce
from symile_bench.baselines.cli import train as baselines_train
from symile_bench.baselines.cli import xor_info
from symile_bench.cli_build import register_builder_commands, register_import_commands
from symile_bench.cli_options import DatasetDir, Location, Quiet, console, err_console
from symile_bench.harness.cli import evaluate
from symile_bench.harness.cli_reports import compare, report, validate
from symile_bench.leaderboard.cli import leaderboard_app
from symile_bench.leaderboard.cli import submit as leaderboard_submit
from symile_bench.lexicon.cli import lexicon_app
from symile_bench.registry import COMMANDS, builder_names, get_builder

app = typer.Typer(
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
    help="Build a benchmark into a dataset directory (Arrow shards + manifest + card). "
    "Run `symile-bench build NAME --help` for a builder's options.",
    no_args_is_help=True,
)
app.add_typer(build_app, name="build")
import_app = typer.Typer(
    help="Import a released dataset (the paper's Symile-MIMIC from PhysioNet, ...) into a "
    "dataset directory: the same shards, manifest and card as a build, so info, verify, "
    "evaluate, compare, report and the leaderboard work on it unchanged. SOURCE is the "
    "release as you downloaded it; every other option is the one of `symile-bench build "
    "NAME` (an importer is also listed there). Run `symile-bench import NAME --help`.",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")
app.add_typer(lexicon_app, name="lexicon")
app.add_typer(leaderboard_app, name="leaderboard")  # symile_bench/leaderboard/cli.py
app.command(name="submit")(leaderboard_submit)

register_builder_commands(build_app)
register_import_commands(import_app)

# Builder packages may add top-level commands (e.g. `fake-mimic`) through the entry-point group
# `symile_bench.commands`: each entry point is a typer command function, registered by name.
for _name in COMMANDS.names():
    app.command(name=_name)(COMMANDS.get(_name))

# Scoring commands (symile_bench/harness/cli.py).
for _scoring_command in (evaluate, compare, report, validate):
    app.command()(_scoring_command)
# Baselines (symile_bench/baselines/cli.py): train, reproduce, xor-info.
for _baseline in (baselines_train, baselines_reproduce, xor_info):
    app.command(name=_baseline.__name__.removeprefix("baselines_").replace("_", "-"))(_baseline)


@app.command("list")
def list_builders() -> None:
    """List the installed builders (entry-point group `symile_bench.builders`)."""
    table = Table("builder", "version", "description")
    for name in builder_names():
        try:
            builder = get_builder(name)
        except Exception as exc:  # one broken package must not hide the others
            table.add_row(name, "?", f"[red]unavailable: {type(exc).__name__}: {exc}[/]")
            continue
        table.add_row(name, builder.version, builder.description)
    console.print(table)


@app.command()
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


@app.command()
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


@app.command()
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


@app.command()
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
