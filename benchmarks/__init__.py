"""Benchmarks run by `make bench`: speed as figures and ratios, never as timed unit tests."""
