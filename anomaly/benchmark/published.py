"""Published figures to print beside ours (sources in ../shared/data/*/README.md).

SKAB: upstream README "Proposed Leaderboard" (34 files, commit b2c0d46) and
the valve1-subset rescoring of upstream's committed predictions. NAB: the
upstream README scoreboard (58 files, "as of NAB v1.0") and the
realKnownCause-subset sums of upstream per-file results. Only compare like
with like: :func:`skab_table` and :func:`nab_table` pick the table that
matches the files evaluated.
"""

from __future__ import annotations

# name: (F1, FAR %, MAR %, NAB standard, NAB LowFP, NAB LowFN)
SKAB_FULL: dict[str, tuple[float, ...]] = {
    "Conv-AE": (0.78, 13.55, 28.02, 23.61, 21.54, 27.55),
    "MSET": (0.78, 39.73, 14.13, 13.84, 10.22, 17.37),
    "T-squared+Q (PCA-based)": (0.76, 26.62, 24.92, 25.35, 14.51, 31.33),
    "LSTM-AE": (0.74, 29.96, 25.92, 23.51, 20.11, 25.91),
    "T-squared": (0.66, 19.21, 42.6, 19.54, 10.2, 24.31),
    "Vanilla LSTM": (0.54, 12.54, 59.53, 11.31, -3.8, 17.25),
    "MSCRED": (0.36, 49.94, 69.88, 32.42, 16.53, 40.28),
    "Vanilla AE": (0.39, 2.59, 75.15, 11.41, 6.53, 13.91),
    "Isolation forest": (0.29, 2.56, 82.89, 26.16, 19.5, 30.82),
}
SKAB_VALVE1: dict[str, tuple[float, ...]] = {
    "MSET": (0.78, 38.53, 14.98, 15.49, 11.13, 19.32),
    "T-squared+Q (PCA-based)": (0.76, 23.89, 26.09, 23.98, 9.52, 31.33),
    "Conv-AE": (0.75, 14.4, 31.84, 20.9, 18.88, 24.52),
    "LSTM-AE": (0.7, 25.37, 34.76, 24.48, 21.24, 26.9),
    "T-squared": (0.65, 19.94, 44.05, 22.4, 13.45, 27.63),
    "Vanilla LSTM": (0.47, 11.04, 66.6, 12.1, -6.44, 19.71),
    "Isolation forest": (0.21, 1.14, 88.38, 24.07, 17.17, 28.74),
    "MSCRED": (0.2, 57.53, 83.91, 36.69, 22.4, 44.57),
    "Vanilla AE": (0.17, 0.4, 90.81, 2.93, -4.96, 6.18),
}
# name: (standard, reward_low_FP_rate, reward_low_FN_rate)
NAB_FULL: dict[str, tuple[float, ...]] = {
    "ARTime": (74.9, 65.1, 80.4),
    "Numenta HTM (NuPIC 1.0, best seed)": (70.5, 62.6, 75.2),
    "CAD OSE": (69.9, 67.0, 73.2),
    "earthgecko Skyline": (58.2, 46.2, 63.9),
    "KNN CAD": (58.0, 43.4, 64.8),
    "Relative Entropy": (54.6, 47.6, 58.8),
    "Random Cut Forest": (51.7, 38.4, 59.7),
    "Twitter ADVec v1.0.0": (47.1, 33.6, 53.5),
    "Windowed Gaussian": (39.6, 20.9, 47.4),
    "Etsy Skyline": (35.7, 27.1, 44.5),
    "Bayesian Changepoint": (17.7, 3.2, 32.2),
}
NAB_REAL_KNOWN_CAUSE: dict[str, tuple[float, ...]] = {
    "ARTime": (63.88, 52.17, 70.66),
    "numenta (HTM, NuPIC 0.5.6)": (55.47, 49.27, 61.54),
    "htmjava": (52.19, 40.12, 59.36),
    "relativeEntropy": (49.93, 39.30, 56.09),
    "numentaTM": (49.02, 32.65, 55.49),
    "knncad": (45.24, 27.94, 54.72),
    "randomCutForest": (43.08, 16.02, 47.83),
    "contextOSE": (41.75, 37.99, 49.38),
    "earthgeckoSkyline": (32.92, 27.70, 35.98),
    "twitterADVec": (26.70, 21.46, 30.08),
    "windowedGaussian": (13.36, 9.86, 15.92),
}


def skab_table(file_names: list[str]) -> tuple[str, dict[str, tuple[float, ...]]]:
    """The published SKAB table comparable with these files, and its title."""
    if file_names and all(n.replace("\\", "/").startswith("valve1/") for n in file_names):
        return "valve1 subset (16 files; rescored upstream predictions)", SKAB_VALVE1
    if len(file_names) == 34:
        return "full corpus (34 files; upstream leaderboard)", SKAB_FULL
    return "full corpus (34 files; NOT the same files as evaluated)", SKAB_FULL


def nab_table(file_names: list[str]) -> tuple[str, dict[str, tuple[float, ...]]]:
    """The published NAB table comparable with these files, and its title."""
    if file_names and all(n.startswith("realKnownCause/") for n in file_names):
        return "realKnownCause subset (upstream per-file results)", NAB_REAL_KNOWN_CAUSE
    if len(file_names) == 58:
        return "full corpus (58 files; upstream scoreboard)", NAB_FULL
    return "full corpus (58 files; NOT the same files as evaluated)", NAB_FULL
