"""Drift detection engine (pure numpy, no I/O)."""
