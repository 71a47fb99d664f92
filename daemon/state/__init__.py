"""The daemon's own tables in state.db: rule engine state, silences, trained models."""
