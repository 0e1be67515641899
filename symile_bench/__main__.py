"""`python -m symile_bench` runs the CLI."""

from symile_bench.cli import main

main()
