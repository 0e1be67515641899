"""XOR, build side: the builder, the exact information terms, the `xor-info` command."""
