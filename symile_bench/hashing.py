"""Content hashes and canonical JSON: the basis of resume, verify and fingerprints."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    """Key-sorted, whitespace-free JSON: equal values always serialise to equal strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_json(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def stable_int(name: str) -> int:
    """A 32-bit integer derived from a name, stable across processes and Python versions.

    Seeds are keyed by names (variant, split) rather than by positions, so a variant built on
    its own gets the same rows as the same variant built inside a grid.
    """
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:4], "big")
