"""Rule language and evaluation engine (pure: readings + clock in, events out)."""
