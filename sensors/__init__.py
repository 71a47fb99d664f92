"""MQTT ingest, payload decoding, asset registry and time-series stores."""
