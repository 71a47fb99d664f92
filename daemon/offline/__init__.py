"""Runs over stored or public data: rule backtests and tests, anomaly evaluation."""
