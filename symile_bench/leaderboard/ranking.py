"""What a leaderboard shows per entry, including the rank range the intervals allow.

Rank range: an entry is certainly behind every entry whose interval lies entirely above its
own (their ci_low > its ci_high) and certainly ahead of every entry whose interval lies
entirely below; anything overlapping could go either way. So best = 1 + #{clearly better},
worst = N − #{clearly worse}. Verified and reported entries are ranked separately."""

from __future__ import annotations

from typing import Any


def rank_ranges(entries: list[dict[str, Any]]) -> list[tuple[int, int]]:
    n = len(entries)
    out = []
    for e in entries:
        better = sum(o["ci_low"] > e["ci_high"] for o in entries)
        worse = sum(o["ci_high"] < e["ci_low"] for o in entries)
        out.append((1 + better, n - worse))
    return out


def public_entry(e: dict[str, Any], rank: tuple[int, int]) -> dict[str, Any]:
    """The fields shown on pages and in the JSON API (no predictions, no token hash)."""
    return {
        "id": e["id"],
        "status": e["status"],
        "model": e["model"],
        "submitter": e["submitter"],
        "top1": e["top1"],
        "ci_low": e["ci_low"],
        "ci_high": e["ci_high"],
        "n": e["n"],
        "rank_best": rank[0],
        "rank_worst": rank[1],
        "objective": e["objective"],
        "protocol": e.get("protocol") or "default",  # NULL: stored before --protocol existed
        "parameters": e["parameters"],
        "link": e["link"],
        "submitted_at": e["submitted_at"].isoformat() if e["submitted_at"] else None,
    }


def board(
    entries: list[dict[str, Any]], objective: str | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Entries (best top-1 first) split into verified and reported, each with rank ranges;
    with ``objective`` (a ``model.scoring``: mip, pairwise, gram, ...) only that objective's
    entries, ranked among themselves, so objectives are compared on the same board."""
    if objective is not None:
        entries = [e for e in entries if e["objective"] == objective]
    out: dict[str, list[dict[str, Any]]] = {}
    for status in ("verified", "reported"):
        group = [e for e in entries if e["status"] == status]
        out[status] = [public_entry(e, r) for e, r in zip(group, rank_ranges(group), strict=True)]
    return out
