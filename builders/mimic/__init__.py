"""Symile-MIMIC: an ECG and labs near admission, a chest X-ray 24-72 h later, from a user's
MIMIC-IV, MIMIC-IV-ECG and MIMIC-CXR-JPG copies.

Everything about the benchmark is in this package, declared once below: the build side in
``build/`` (the cohort rules, the builder, the synthetic source trees of ``fake-mimic``;
``build/release/`` imports and exports PhysioNet's Symile-MIMIC 1.0.0 release) and the model
side in ``models/`` (the baseline recipe, the reproduction and its report, and the release's
checkpoint as ``--model symile-mimic-release``). Its cards are
``cards/mimic.md`` and ``cards/symile-mimic.md``.
"""

from symile_bench.registry import Benchmark

BENCHMARK = Benchmark(
    name="mimic",
    description="Symile-MIMIC: ECG and labs at admission, chest X-ray 24-72 h later.",
    builders={
        "mimic": "builders.mimic.build.builder:MimicBuilder",
        "symile-mimic": "builders.mimic.build.release.builder:ReleaseMimicBuilder",
    },
    commands={"fake-mimic": "builders.mimic.build.cli:fake_mimic_command"},
    exporters={"symile-mimic": "builders.mimic.build.release.export:export_symile_mimic"},
    models={"symile-mimic-release": "builders.mimic.models.release_model:SymileMimicRelease"},
    recipes={"mimic": "builders.mimic.models.recipe:RECIPE"},
    reproductions={"mimic": "builders.mimic.models.reproduce:REPRODUCTION"},
)
