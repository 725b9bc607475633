"""Differential privacy for registry-spanning queries: noise drawn in shares, budgets kept."""
