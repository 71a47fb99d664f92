"""Payload mapping: which fields of a device's message become which metrics.

Configured per topic pattern (``daemon/config/mappings.py`` reads the YAML):
``path`` finds a field in a JSON document, ``model`` is the mapping as a
value, ``topic`` matches topics to mappings, ``apply`` turns one message into
raw readings and a fate per field.
"""
