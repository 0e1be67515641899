"""Optional matplotlib figures for `reproduce` (the ``plot`` extra); absent matplotlib means
a report without figures, not a failure."""

from __future__ import annotations

from typing import Any


def pyplot() -> Any | None:
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
