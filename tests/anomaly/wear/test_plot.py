from __future__ import annotations

import struct
import zlib

import numpy as np
from gatewatch.anomaly.wear.plot import DOT_RGB, ZONE_RGB, encode_png, trend_png
from gatewatch.anomaly.wear.zones import limits_for


def decode(png: bytes) -> np.ndarray:
    """Minimal decoder for the filter-0 RGB PNGs we write (checks the CRCs)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + data)
        chunks[kind] = data
        pos += 12 + length
    width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), dtype=np.uint8).reshape(
        height, 1 + 3 * width
    )
    assert (raw[:, 0] == 0).all()
    return raw[:, 1:].reshape(height, width, 3)


def test_encode_png_round_trips_pixels() -> None:
    img = np.zeros((3, 2, 3), dtype=np.uint8)
    img[1, 1] = (10, 20, 30)
    np.testing.assert_array_equal(decode(encode_png(img)), img)


def test_trend_png_shows_zones_points_and_stays_small() -> None:
    lim = limits_for("II")
    days = np.arange(20.0)
    levels = 1.5 * np.exp(0.02 * days)
    png = trend_png(days, levels, lim, slope_per_day=0.02, level_now=float(levels[-1]))
    img = decode(png)
    assert img.shape == (160, 320, 3)
    assert len(png) < 10_000
    top_value = 1.15 * 7.1

    def row_of(value: float) -> int:
        return round((1 - value / top_value) * 159)

    assert tuple(img[row_of(8.0), 300]) == ZONE_RGB["D"]
    assert tuple(img[row_of(5.0), 300]) == ZONE_RGB["C"]
    assert tuple(img[row_of(0.5), 300]) == ZONE_RGB["A"]
    x_first = 0
    assert tuple(img[row_of(1.5), x_first]) == DOT_RGB
