"""``symile-bench submit``: post a results file to a leaderboard server and report what it said."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from symile_bench.harness.results import load_results
from symile_bench.leaderboard.errors import LeaderboardError


def submit(path: Path, server: str, token: str, timeout: float = 120.0) -> dict[str, Any]:
    """Validate locally first (so a broken file fails without a round trip), then post the
    file's exact bytes (the server's replay check hashes them)."""
    load_results(path)
    url = server.rstrip("/") + "/api/v1/submissions"
    try:
        resp = httpx.post(
            url,
            content=Path(path).read_bytes(),
            timeout=timeout,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
    except httpx.HTTPError as e:
        raise LeaderboardError(f"--server {server}: cannot reach the leaderboard ({e})") from None
    try:
        data = resp.json()
    except ValueError:
        data = {"detail": resp.text[:200]}
    if resp.status_code != 201:
        raise LeaderboardError(
            f"{server} refused {path} ({resp.status_code}): {data.get('detail', data)}"
        )
    return data
