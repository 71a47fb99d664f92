"""The benchmarks behind `gatewatch bench`: ingest, forwarding, rules, anomaly."""
