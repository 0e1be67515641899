"""XOR, model side: the oracle, the baseline recipe, the reproduction and its report."""
