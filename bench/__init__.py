"""Benchmarks: each prints its figures (medians and spread, ratios within one run)."""
