"""The analysis catalogue: one module per analysis, each with its plaintext reference."""
