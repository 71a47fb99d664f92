"""Wear forecasting: daily vibration levels, trend, ISO 10816 zones, days to zone C."""
