"""The long-running service: the pipeline of stages, supervision and reload."""
