"""Immutable KPI event log."""
