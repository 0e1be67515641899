"""``symile-bench leaderboard serve|add|token|allow-duplicate|export`` and
``symile-bench submit``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

console = Console(soft_wrap=True)

leaderboard_app = typer.Typer(
    help="Run a leaderboard: register benchmark splits, issue tokens, serve, export.",
    no_args_is_help=True,
)

Db = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="SQLAlchemy URL (sqlite:///PATH, postgresql://...); default "
        "$SYMILE_LEADERBOARD_DB or sqlite:///symile-leaderboard.db",
        show_default=False,
    ),
]


@leaderboard_app.command()
def serve(
    db: Db = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    max_body_mb: Annotated[float, typer.Option(help="Largest request body accepted (MiB).")] = 32.0,
    rate_limit: Annotated[
        int, typer.Option(help="Submissions per token per --rate-window seconds.")
    ] = 30,
    rate_window: Annotated[float, typer.Option(help="Rate-limit window (seconds).")] = 60.0,
    verify_workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Worker processes that parse and re-score submissions (default: cores, up to 4).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the pages, the JSON API and submissions (migrates the database first)."""
    import uvicorn

    from symile_bench.leaderboard.app import VERIFY_WORKERS, Settings, create_app

    settings = Settings(
        db_url=db,
        max_body_bytes=int(max_body_mb * 1024 * 1024),
        rate_limit=rate_limit,
        rate_window_s=rate_window,
        verify_workers=verify_workers or VERIFY_WORKERS,
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


@leaderboard_app.command()
def add(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="The full (non-blind) dataset directory; or give --answer-key instead.",
            show_default=False,
        ),
    ] = None,
    answer_key: Annotated[
        Path | None,
        typer.Option(
            "--answer-key",
            help="Register from the answer-key file of a blind build (`symile-bench "
            "build ... --blind --answer-key FILE`) instead of a dataset directory.",
        ),
    ] = None,
    split: Annotated[str, typer.Option(help="Split to register.")] = "test",
    config: Annotated[str | None, typer.Option(help="Dataset config (default: the first).")] = None,
    name: Annotated[
        str | None,
        typer.Option(
            help="Benchmark name (default BUILDER-LABEL-CONFIG-SPLIT; the label, when the "
            "builder declares one, tells its builds apart: M3's names w and the languages)."
        ),
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="Target modality (default: the task's).")
    ] = None,
    candidates: Annotated[
        str | None, typer.Option(help="Candidate rule (default: the task's).")
    ] = None,
    card: Annotated[
        Path | None,
        typer.Option(
            help="The dataset card (README.md) the board links to; default: DIR's. With "
            "--answer-key, give the blind build's.",
            show_default=False,
        ),
    ] = None,
    db: Db = None,
) -> None:
    """Register a split: its fingerprint and the answer key needed to re-score predictions."""
    from symile_bench.leaderboard.answerkey import answer_key_from_dataset, read_answer_key_file
    from symile_bench.leaderboard.errors import LeaderboardError
    from symile_bench.leaderboard.storage import open_db

    if (path is None) == (answer_key is None):
        raise LeaderboardError(
            "give exactly one of DIR (a full dataset directory) or "
            "--answer-key FILE (from `symile-bench build --blind`)"
        )
    if answer_key is not None:
        sk = read_answer_key_file(answer_key, config, split)
        for option, asked, held in (
            ("--target", target, sk.target),
            ("--candidates", candidates, sk.rule),
        ):
            if asked not in (None, held):
                raise LeaderboardError(
                    f"{option} {asked!r}: the answer key in {answer_key} "
                    f"scores {held!r} (a blind build keeps the task's default)"
                )
    else:
        assert path is not None  # exactly one of the two, checked above
        sk = answer_key_from_dataset(path, split, config, target, candidates)
    if card is not None:
        try:
            text = card.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise LeaderboardError(f"--card {card}: cannot read it ({e})") from None
        sk = replace(sk, description={**sk.description, "card": text})
    b = open_db(db).add_benchmark(name or sk.default_name, sk)
    console.print(
        f"[green]✓[/] registered {escape(b.name)}: {b.n_queries} queries, "
        f"fingerprint {b.fingerprint[:16]}"
    )


@leaderboard_app.command()
def token(
    name: Annotated[str, typer.Argument(help="Submitter name shown next to entries.")],
    db: Db = None,
) -> None:
    """Create a submitter token; it is printed once (only its hash is stored)."""
    from symile_bench.leaderboard.storage import open_db

    print(open_db(db).create_token(name))


@leaderboard_app.command("allow-duplicate")
def allow_duplicate(
    entry: Annotated[
        int, typer.Argument(help="The earlier entry's id, as the 409 reply names it.")
    ],
    submitter: Annotated[
        str, typer.Option(help="Token name that may submit that content once more.")
    ],
    db: Db = None,
) -> None:
    """Accept one duplicate by hand: SUBMITTER may store entry ENTRY's content once more.

    A submission whose verified content (predictions, or a reported entry's rows) is already
    on the benchmark is refused as a replay (409). When the operator judges it an honest
    second model that happens to give identical results, this lets its resubmission through
    once; the new entry records which entry it duplicates.
    """
    from symile_bench.leaderboard.storage import open_db

    board = open_db(db).allow_duplicate(entry, submitter)
    console.print(
        f"[green]✓[/] {escape(submitter)} may submit the content of entry {entry} on "
        f"{escape(board)} once more; ask them to submit again"
    )


@leaderboard_app.command("export")
def export_cmd(
    html: Annotated[Path, typer.Option("--html", help="Folder for the static site.")],
    db: Db = None,
) -> None:
    """Write a static copy of every page (and each board's JSON), e.g. for GitHub Pages."""
    from symile_bench.leaderboard.export import export_html
    from symile_bench.leaderboard.storage import open_db

    files = export_html(open_db(db), html)
    console.print(f"[green]✓[/] wrote {len(files)} files to {escape(str(html))}")


def submit(
    results: Annotated[Path, typer.Argument(help="A results.json from `symile-bench evaluate`.")],
    server: Annotated[str, typer.Option(help="Leaderboard URL, e.g. http://127.0.0.1:8000.")],
    token: Annotated[
        str, typer.Option(envvar="SYMILE_LEADERBOARD_TOKEN", help="Your submitter token.")
    ],
) -> None:
    """Submit results to a leaderboard; the server re-scores the predictions itself."""
    from symile_bench.leaderboard.client import submit as post

    data = post(results, server, token)
    console.print(
        f"[green]✓[/] {data['status']} entry {data['id']} on {escape(data['benchmark'])}"
        f": top-1 {data['top1']:.4f} [{data['ci_low']:.4f}, {data['ci_high']:.4f}] "
        f"(n={data['n']}) {server.rstrip('/')}{data['url']}"
    )
