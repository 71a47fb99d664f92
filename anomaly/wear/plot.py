"""A small PNG of a degradation trend for predictive tickets (pure: arrays in, bytes out).

Zone bands A-D as background colours, the daily levels as dots, the fitted
trend extended to the forecast horizon as a line, and today as a vertical
line. Written with zlib only, so the gateway needs no plotting library.
"""

from __future__ import annotations

import math
import struct
import zlib

import numpy as np
from gatewatch.anomaly.trend import FloatArray
from gatewatch.anomaly.wear.zones import ZoneLimits
from numpy.typing import NDArray

ZONE_RGB = {"A": (214, 240, 214), "B": (240, 240, 200), "C": (250, 214, 170), "D": (245, 180, 180)}
DOT_RGB, LINE_RGB, TODAY_RGB = (20, 50, 150), (0, 0, 0), (120, 120, 120)
Image = NDArray[np.uint8]


def trend_png(
    days: FloatArray,
    levels: FloatArray,
    limits: ZoneLimits,
    *,
    slope_per_day: float,
    level_now: float,
    horizon_days: float = 30.0,
    size: tuple[int, int] = (320, 160),
) -> bytes:
    """PNG bytes: ``levels`` (mm/s) on ``days``, trend ``level_now * exp(slope * t)`` ahead."""
    width, height = size
    days, levels = np.asarray(days, dtype=np.float64), np.asarray(levels, dtype=np.float64)
    today = float(days[-1]) if days.size else 0.0
    x0 = float(days[0]) if days.size else today - 1
    x1 = today + horizon_days
    top = 1.15 * max(float(limits.cd), float(np.nanmax(levels)) if levels.size else 0.0)

    def px(day: float) -> int:
        return round((day - x0) / (x1 - x0) * (width - 1))

    def py(value: float) -> int:
        return round((1 - min(max(value, 0.0), top) / top) * (height - 1))

    img = _zone_background(width, height, limits, top)
    img[:, px(today)] = TODAY_RGB
    for d in np.linspace(today, x1, 4 * width):
        y = (
            level_now * math.exp(slope_per_day * (d - today))
            if math.isfinite(slope_per_day)
            else level_now
        )
        _dot(img, px(float(d)), py(y), LINE_RGB, 0)
    for d, v in zip(days, levels, strict=True):
        if math.isfinite(v):
            _dot(img, px(float(d)), py(float(v)), DOT_RGB, 1)
    return encode_png(img)


def _zone_background(width: int, height: int, limits: ZoneLimits, top: float) -> Image:
    value = (1 - np.arange(height) / (height - 1)) * top  # value at each row, top row first
    img = np.empty((height, width, 3), dtype=np.uint8)
    for row, v in enumerate(value):
        img[row, :] = ZONE_RGB[limits.zone(float(v))]
    return img


def _dot(img: Image, x: int, y: int, rgb: tuple[int, int, int], radius: int) -> None:
    h, w, _ = img.shape
    img[
        max(0, y - radius) : min(h, y + radius + 1), max(0, x - radius) : min(w, x + radius + 1)
    ] = rgb


def encode_png(img: Image) -> bytes:
    """8-bit RGB PNG of an (height, width, 3) uint8 array."""
    height, width, _ = img.shape
    raw = b"".join(b"\x00" + img[row].tobytes() for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
