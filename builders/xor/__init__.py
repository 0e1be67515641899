"""Binary XOR: tuples (a, b, c, ...) of M >= 3 bit vectors where only all the others together
determine b (``build xor --modalities M``; default the paper's triples).

Everything about the benchmark is in this package, declared once below: the build side in
``build/`` (the builder, the exact information terms, ``xor-info``) and the model side in
``models/`` (the oracles, the baseline recipe, the reproduction of the paper's Fig. 3 and of
how the objectives scale with M, and its reports). Its card is ``cards/xor.md``.
"""

from symile_bench.registry import Benchmark

BENCHMARK = Benchmark(
    name="xor",
    description="Binary XOR of M >= 3 modalities (a, b, c, ...): only all the others together "
    "determine b.",
    builders={"xor": "builders.xor.build.builder:XorBuilder"},
    commands={"xor-info": "builders.xor.build.cli:xor_info"},
    models={
        "xor-oracle": "builders.xor.models.oracle:xor_oracle",
        "xor-walsh": "builders.xor.models.oracle:xor_walsh",
    },
    recipes={"xor": "builders.xor.models.recipe:RECIPE"},
    reproductions={"xor": "builders.xor.models.reproduce:REPRODUCTION"},
)
