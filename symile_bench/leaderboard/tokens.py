"""Submitter tokens: 32 random bytes, URL-safe. Only the sha256 is stored; a token has 256 bits
of entropy, so an unsalted fast hash is enough to make a leaked database useless for
submitting, while a lookup stays one indexed query."""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "slb_"


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
