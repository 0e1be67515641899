"""Symile-M3, build side: the builder, its config, pools, sampling, task and card variables,
and the importers and exporters of the release formats (`release/`)."""
