"""The paper's numbers (REFERENCE.md), placed beside ours in `reproduce` reports."""

from __future__ import annotations

# XOR (Fig. 3): both at 0.032 at p = 0; Symile 1.0 at p = 1; CLIP ≈ 0.031 throughout.
XOR_POINTS = {"symile": {0.0: 0.032, 1.0: 1.0}, "clip": {0.0: 0.032, 1.0: 0.031}}

# Symile-M3 zero-shot top-1 (mean over 10 bootstrap samples of the test set), by w.
M3 = {"symile": {2: 0.939, 5: 0.919, 10: 0.882}, "clip": {2: 0.473, 5: 0.187, 10: 0.094}}
M3_MISSING = {"symile_12.5%_complete": 0.906, "clip_complete": 0.473}

# Symile-MIMIC top-1 (± SE over 10 bootstrap samples); (chance: read from each results file's rows).
MIMIC = {"symile": (0.435, 0.007), "clip": (0.387, 0.003)}
