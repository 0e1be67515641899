"""clock: the start hour and the hours added determine the end hour; neither alone does."""

from symile_bench.registry import Benchmark

BENCHMARK = Benchmark(
    name="clock",
    description="Start hour and step; only both together give the end hour.",
    builders={"clock": "clock_bench.build:ClockBuilder"},
    models={"clock-oracle": "clock_bench.models:ClockOracle"},
    recipes={"clock": "clock_bench.models:RECIPE"},
    reproductions={"clock": "clock_bench.reproduce:REPRODUCTION"},
)
