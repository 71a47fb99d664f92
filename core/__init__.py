"""Values every package shares, one home each: readings, assets, alert events, derived
signals, YAML with source locations. Pure: imports nothing else of gatewatch."""
