"""Symile-MIMIC, model side: the baseline recipe (features, networks), the reproduction and
its report."""
