"""How XOR's modalities are named, shared by the builder and the information terms."""

from __future__ import annotations

#: the paper's three; a build with them records no ``modalities`` in its config (builder.py)
DEFAULT_MODALITIES = 3
#: modality names in order: the alphabet without "i", which names the switch column
NAMES = "abcdefghjklmnopqrstuvwxyz"
MAX_MODALITIES = len(NAMES)


def modality_names(m: int) -> tuple[str, ...]:
    """a, b, c, ... for M modalities (x_1 = a, x_M the XOR or the copy of a)."""
    return tuple(NAMES[:m])
