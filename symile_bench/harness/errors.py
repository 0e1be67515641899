"""Errors raised by the harness (all subclasses of `symile_bench.errors`, so the CLI prints them
as one line and exits non-zero)."""

from __future__ import annotations

from symile_bench.errors import ConfigError, SymileBenchError


class HarnessInputError(ConfigError):
    """Embeddings, labels or an option passed to the harness are inconsistent or invalid."""


class ResultsFileError(SymileBenchError):
    """A results.json file is missing, unreadable, of an unsupported schema version or invalid."""
