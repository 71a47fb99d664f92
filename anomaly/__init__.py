"""Anomaly and degradation detection (pure core)."""
