"""A third-party plugin, as another package would ship one: a builder, a scorer and a model,
registered only through entry points (see CONTRIBUTING.md). Nothing in symile_bench names it."""
