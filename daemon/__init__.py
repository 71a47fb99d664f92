"""The gatewatch program: the rooms that run, operate, configure and command it.

config/ loads gatewatch.yaml; run/ is the long-running service; ops/ what an
operator and a supervisor see (HTTP, health, metrics, sd_notify, logs); state/
the daemon's own tables in state.db; commands/ the CLI; offline/ backtests and
evaluations; bench/ benchmarks; demo/ the embedded demo. docs/architecture.md.
"""
