"""The YAML rule language: files -> a checked RuleSet (model, expressions, templates,
durations, silences) and its JSON Schema. Pure; the engine runs what it produces."""
