"""Leaderboard errors: a rejected submission carries the HTTP status the server answers with, so
the API and the CLI show the same one-line message."""

from __future__ import annotations

from symile_bench.errors import SymileBenchError


class LeaderboardError(SymileBenchError):
    """A leaderboard operation cannot proceed (unknown benchmark, bad database URL, ...)."""


class SubmissionRejected(LeaderboardError):
    """A submission the server refuses; ``status`` is the 4xx code sent back."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status

    def __reduce__(self) -> tuple[type[SubmissionRejected], tuple[str, int]]:
        # raised in a verification worker process: keep the status across the pickle
        return (type(self), (str(self), self.status))
