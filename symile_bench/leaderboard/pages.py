"""Server-rendered HTML (Jinja2, autoescaped, no external assets) shared by the app and the
static export; only the URLs differ between the two, so they are passed in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlparse

from jinja2 import Environment, PackageLoader, select_autoescape

from symile_bench.leaderboard.storage import Benchmark

_env = Environment(
    loader=PackageLoader("symile_bench.leaderboard", "templates"),
    autoescape=select_autoescape(["html", "js"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def safe_link(url: str | None) -> str | None:
    """Only http(s) links become hrefs (no javascript: or data: URLs)."""
    if not url:
        return None
    return url if urlparse(url).scheme in ("http", "https") else None


_env.filters["safe_link"] = safe_link


def served_url(name: str) -> str:
    return "/b/" + quote(name, safe="")


def public_description(b: Benchmark) -> dict[str, Any]:
    """The benchmark's description as the JSON API shows it: the card has its own URL."""
    return {k: v for k, v in b.description.items() if k != "card"}


def index_page(
    items: list[tuple[Benchmark, int]],
    board_url: Callable[[str], str] = served_url,
    home: str = "/",
) -> str:
    return _env.get_template("index.html").render(items=items, board_url=board_url, home=home)


def board_page(
    benchmark: Benchmark,
    board: dict[str, list[dict[str, Any]]],
    home: str = "/",
    json_url: str | None = None,
    card_url: str | None = None,
    objectives: tuple[list[str], str | None] | None = None,
) -> str:
    """``card_url``: where the dataset card is served (None when none was registered);
    ``objectives``: the objectives on this board and the one shown (None: all), for the
    served page's filter links (a static export shows every entry)."""
    return _env.get_template("benchmark.html").render(
        b=benchmark,
        board=board,
        home=home,
        json_url=json_url,
        card_url=card_url,
        objectives=objectives,
    )
