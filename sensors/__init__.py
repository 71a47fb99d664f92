"""MQTT ingest, topic patterns, payload decoding and time-series stores."""
