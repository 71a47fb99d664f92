"""Scoring the detectors on public benchmarks (SKAB, NAB) and their NAB-only detectors."""
