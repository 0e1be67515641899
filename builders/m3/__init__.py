"""Symile-M3: audio in language L, an image of class C, text of w words; only audio AND text
identify the image.

Everything about the benchmark is in this package, declared once below: the build side in
``build/`` (the builder, its pools and sampling, the task; ``build/release/`` imports and
exports the release's formats, the Hub's `arsaporta/symile-m3` and the release code's CSVs)
and the model side in ``models/`` (the oracle, the baseline recipe, the reproduction of the
paper's table and its report). Its cards are ``cards/m3.md``, ``cards/hf-m3.md`` and
``cards/m3-csv.md``.
"""

from symile_bench.registry import Benchmark

BENCHMARK = Benchmark(
    name="m3",
    description="Symile-M3: multilingual audio, image and text; only audio and text together "
    "identify the image.",
    builders={
        "m3": "builders.m3.build.builder:M3Builder",
        "hf-m3": "builders.m3.build.release.hub:HfM3Builder",
        "m3-csv": "builders.m3.build.release.csv_source:CsvM3Builder",
    },
    exporters={
        "hf-m3": "builders.m3.build.release.export_hub:export_hf_m3",
        "m3-csv": "builders.m3.build.release.export_csv:export_m3_csv",
    },
    models={"m3-oracle": "builders.m3.models.oracle:m3_oracle"},
    # the imported releases have the same modalities, so the same recipe trains on them
    recipes={
        "m3": "builders.m3.models.recipe:RECIPE",
        "hf-m3": "builders.m3.models.recipe:RECIPE",
        "m3-csv": "builders.m3.models.recipe:RECIPE",
    },
    reproductions={"m3": "builders.m3.models.reproduce:REPRODUCTION"},
)
