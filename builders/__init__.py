"""Benchmarks, one package each (`xor`, `m3`, `mimic`): its build side, model side and the
`Benchmark` declaration that registers them (`symile_bench.registry`)."""
