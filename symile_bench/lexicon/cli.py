"""``symile-bench lexicon ...``: inspect a lexicon before building with it.

Thin on purpose: parses options, calls :func:`load_lexicon` and :meth:`Lexicon.check`, renders
the report with rich. Exit codes: 0 clean, 1 missing entries / collisions / unusable entries,
2 the lexicon or an option could not be used at all (the message says why).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from symile_bench.errors import SymileBenchError

from .languages import LANGUAGES, resolve_languages

if TYPE_CHECKING:
    from .report import LexiconReport

lexicon_app = typer.Typer(
    help="Inspect the class lexicon (ImageNet classes x languages) that names Symile-M3's text.",
    no_args_is_help=True,
    add_completion=False,
)

_MAX_IDS = 12  # missing cls_ids listed per language before "..."


@lexicon_app.callback()
def _group() -> None:
    """Inspect the class lexicon (ImageNet classes x languages) that names Symile-M3's text."""


@lexicon_app.command("check")
def check(
    path: Annotated[
        str,
        typer.Argument(
            help="Lexicon to check: 'default' for the embedded one, or a file: the Symile-M3 "
            "release's translations.json, a Babel-ImageNet JSON, or a lexicon TSV.",
            show_default=True,
        ),
    ] = "default",
    languages: Annotated[
        str | None,
        typer.Option(
            "--languages",
            "-l",
            help="Languages to check: 2, 5 or 10 for the paper's sets, or comma-separated codes "
            f"({','.join(LANGUAGES)}). Default: all ten.",
        ),
    ] = None,
) -> None:
    """Report coverage per language and every repeated word; exit 1 unless the lexicon is clean."""
    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        from .readers import load_lexicon

        langs = resolve_languages(languages) if languages is not None else None
        lexicon = load_lexicon(None if path == "default" else Path(path))
        report = lexicon.check(langs)
    except SymileBenchError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    out.print(f"source: {lexicon.source}   origin: {lexicon.origin}", markup=False)
    out.print(f"license: {lexicon.license}", markup=False)
    out.print(f"classes: {len(lexicon)}   fingerprint: {lexicon.fingerprint()}", markup=False)
    _render(out, report)
    raise typer.Exit(0 if report.ok else 1)


def _render(out: Console, report: LexiconReport) -> None:
    cov = Table(title="coverage", title_justify="left")
    cov.add_column("language")
    cov.add_column("present", justify="right")
    cov.add_column("total", justify="right")
    cov.add_column("missing cls_id")
    for lang, c in report.coverage.items():
        ids = ", ".join(map(str, c.missing_cls_ids[:_MAX_IDS]))
        if len(c.missing_cls_ids) > _MAX_IDS:
            ids += f", ... ({len(c.missing_cls_ids)} in all)"
        style = None if c.complete else "red"
        cov.add_row(lang, str(c.present), str(c.total), ids or "-", style=style)
    out.print(cov)
    if report.collisions:
        tab = Table(title=f"collisions ({len(report.collisions)})", title_justify="left")
        tab.add_column("kind")
        tab.add_column("language(s)")
        tab.add_column("word", no_wrap=True)
        tab.add_column("classes (cls_id english)")
        for hit in report.collisions:
            classes = "; ".join(f"{i} {e}" for i, e in zip(hit.cls_ids, hit.english, strict=True))
            tab.add_row(hit.kind, ",".join(hit.languages), hit.word, classes)
        out.print(tab)
    if report.problems:
        tab = Table(title=f"other problems ({len(report.problems)})", title_justify="left")
        tab.add_column("kind")
        tab.add_column("cls_id", justify="right")
        tab.add_column("language")
        tab.add_column("what and fix")
        for p in report.problems:
            tab.add_row(
                p.kind, "-" if p.cls_id is None else str(p.cls_id), p.language or "-", p.message
            )
        out.print(tab)
    out.print(report.summary(), markup=False)
