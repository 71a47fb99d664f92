"""`gatewatch demo`: a private broker, a simulated building and weeks of history."""
