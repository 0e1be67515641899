"""A real browser (Debian chromium, headless, driven by Playwright) opens a leaderboard page
served offline, sorts the verified table by clicking its headers, and saves a screenshot."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from .conftest import run_cli
from .test_leaderboard_support import build_xor_with_results, serve, variant

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def test_page_sorts_in_a_real_browser(tmp_path):
    """Three verified entries; clicking "model" sorts A→Z, clicking again Z→A; no request leaves
    127.0.0.1 (no CDN assets); the screenshot is a PNG."""
    import playwright.sync_api as playwright  # dev extra; chromium: scripts/install.sh

    assert CHROMIUM.exists(), "Debian chromium is missing: run scripts/install.sh"
    xor, results = build_xor_with_results(tmp_path)
    db = f"sqlite:///{tmp_path / 'lb.db'}"
    run_cli("leaderboard", "add", xor, "--db", db)
    token = run_cli("leaderboard", "token", "alice", "--db", db).stdout.strip()
    with serve(db) as url:
        for i, name in enumerate(("beta", "alpha", "gamma")):
            body = variant(results, i, name)
            resp = httpx.post(
                url + "/api/v1/submissions",
                content=json.dumps(body),
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )
            assert resp.status_code == 201, resp.text
        hosts = []
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                page = browser.new_page()
                page.on("request", lambda r: hosts.append(httpx.URL(r.url).host))
                page.goto(url + "/b/xor-p1.0-test", timeout=30_000)
                cells = "#verified tbody td.model"

                def models() -> list[str]:
                    return [t.split()[0] for t in page.locator(cells).all_inner_texts()]

                header = page.locator("#verified th", has_text="model")
                header.click()
                assert models() == ["alpha", "beta", "gamma"]
                header.click()
                assert models() == ["gamma", "beta", "alpha"]
                assert header.get_attribute("aria-sort") == "descending"
                shot = tmp_path / "leaderboard.png"
                page.screenshot(path=str(shot), full_page=True)
            finally:
                browser.close()
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(hosts) == {"127.0.0.1"}
