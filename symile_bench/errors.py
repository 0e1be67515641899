"""Errors a user can fix.

Every error here carries a message that names the file, column or option at fault and the fix,
so the CLI can print it as one line without a traceback (CONTRIBUTING.md, "Where code goes").
"""

from __future__ import annotations


class SymileBenchError(Exception):
    """Base class: the CLI prints the message and exits non-zero."""


class ConfigError(SymileBenchError):
    """An option or configuration value is invalid."""


class DatasetDirError(SymileBenchError):
    """A dataset directory is missing, incomplete, corrupt or built with another config."""


class BuilderError(SymileBenchError):
    """A builder (often a third-party plugin) lacks something every build needs: a card
    template, coherent configs and features. Raised before the first file is written."""


class SourceError(SymileBenchError):
    """A user-supplied source (ImageNet, Common Voice, MIMIC, a lexicon file) is unusable."""


class MissingDependencyError(SymileBenchError):
    """A system package or optional Python extra is needed (the message names it)."""


class BackendUnavailableError(SymileBenchError):
    """An optional online backend (gTTS, Google Translate) could not be reached."""


class DiskFullError(DatasetDirError):
    """A write ran out of space (ENOSPC); complete files are kept, so a rerun resumes."""


class BuildInterrupted(SymileBenchError):
    """Ctrl-C during a build: what was kept, and how to resume (one line, no traceback)."""


class HarnessInputError(ConfigError):
    """Embeddings, labels or an option passed to the scoring harness are inconsistent or
    invalid."""


class ResultsFileError(SymileBenchError):
    """A results.json file is missing, unreadable, of an unsupported schema version or invalid."""
