"""Symile-M3, model side: the oracle, the baseline recipe (features and encoders), the
reproduction of the paper's table and its report."""
