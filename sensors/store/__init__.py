"""Time-series store backends behind the Store protocol."""
