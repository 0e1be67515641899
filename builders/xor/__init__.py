"""Binary XOR: triples (a, b, c) of bit vectors where only a and c together determine b.

Everything about the benchmark is in this package, declared once below: the build side in
``build/`` (the builder, the exact information terms, ``xor-info``) and the model side in
``models/`` (the oracle, the baseline recipe, the reproduction of the paper's Fig. 3 and its
report). Its card is ``cards/xor.md``.
"""

from symile_bench.registry import Benchmark

BENCHMARK = Benchmark(
    name="xor",
    description="Binary XOR triples (a, b, c): only a and c together determine b.",
    builders={"xor": "builders.xor.build.builder:XorBuilder"},
    commands={"xor-info": "builders.xor.build.cli:xor_info"},
    models={"xor-oracle": "builders.xor.models.oracle:xor_oracle"},
    recipes={"xor": "builders.xor.models.recipe:RECIPE"},
    reproductions={"xor": "builders.xor.models.reproduce:REPRODUCTION"},
)
