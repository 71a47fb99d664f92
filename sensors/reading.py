"""Readings are defined in the pure core (gatewatch.rules.reading); re-exported here."""

from gatewatch.rules.reading import Reading, SeriesKey

__all__ = ["Reading", "SeriesKey"]
