"""gatewatch daemon: composition root (CLI, config, wiring, signals)."""
