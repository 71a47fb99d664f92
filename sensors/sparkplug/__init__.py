"""Sparkplug B (Eclipse Tahu): ``schema`` declares the protobuf messages, ``decode`` turns
BIRTH/DATA/DEATH messages into readings, keeping each node's and device's alias table."""
