"""``leaderboard export --html DIR``: the same pages as static files with relative links (for
GitHub Pages or any file server), plus each board's JSON."""

from __future__ import annotations

import json
from pathlib import Path

from symile_bench.atomic import write_text_atomic
from symile_bench.leaderboard import pages
from symile_bench.leaderboard.app import _board_json
from symile_bench.leaderboard.ranking import board
from symile_bench.leaderboard.storage import Database


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def export_html(db: Database, out: Path) -> list[Path]:
    """Write ``index.html``, ``b/<name>.html``, ``b/<name>.json`` and the dataset card
    ``b/<name>.card.txt`` (when registered); returns the files."""
    out = Path(out)
    (out / "b").mkdir(parents=True, exist_ok=True)
    items = db.benchmarks()
    written = [out / "index.html"]
    write_text_atomic(
        written[0],
        pages.index_page(items, board_url=lambda name: f"b/{_slug(name)}.html", home="index.html"),
    )
    for b, _count in items:
        html = out / "b" / f"{_slug(b.name)}.html"
        data = out / "b" / f"{_slug(b.name)}.json"
        card = out / "b" / f"{_slug(b.name)}.card.txt"
        if b.description.get("card"):
            write_text_atomic(card, str(b.description["card"]))
            written.append(card)
        write_text_atomic(
            html,
            pages.board_page(
                b,
                board(db.entries(b)),
                home="../index.html",
                json_url=data.name,
                card_url=card.name if b.description.get("card") else None,
            ),
        )
        write_text_atomic(data, json.dumps(_board_json(db, b), indent=2) + "\n")
        written += [html, data]
    return written
