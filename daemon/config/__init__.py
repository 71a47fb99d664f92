"""gatewatch.yaml, assets.yaml and rule files from disk -> typed, validated settings."""
