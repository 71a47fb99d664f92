"""A cap on the series ingest creates: per asset and in total.

With ``strict_assets: false`` any topic or JSON key becomes a series, and
every series costs memory in the store, the rules and the anomaly models for
as long as the daemon runs: 25 messages of 2000 distinct keys once made 50,000
series. :class:`SeriesCap` admits a series the first time it is seen while
its asset has fewer than ``per_asset`` series and the daemon fewer than
``total``; a metric the asset registry declares for its asset is always
admitted (the operator asked for it). A refused reading is dead-lettered by
the decoder (reason ``too_many_series``) and counted here; the first refusal
of each kind logs one warning naming the setting to raise.
"""

from __future__ import annotations

import structlog
from gatewatch.core.assets import AssetRegistry

log = structlog.get_logger("gatewatch.ingest")
SeriesKey = tuple[str, str, str]  # site, asset, metric

DEFAULT_PER_ASSET = 500
DEFAULT_TOTAL = 20_000


class SeriesCap:
    def __init__(
        self,
        assets: AssetRegistry,
        *,
        per_asset: int = DEFAULT_PER_ASSET,
        total: int = DEFAULT_TOTAL,
    ) -> None:
        self.assets, self.per_asset, self.total = assets, per_asset, total
        self.known: set[SeriesKey] = set()  # admitted; the decoder looks here first
        self.of_asset: dict[tuple[str, str], int] = {}
        self.refused = 0  # readings refused
        self._warned: set[str] = set()

    def admit(self, key: SeriesKey) -> str | None:
        """None if the series may exist (now admitted), else why not (for the dead letter)."""
        if key in self.known:
            return None
        site, asset_id, metric = key
        asset = self.assets.get(asset_id)
        declared = asset is not None and asset.metric(metric) is not None
        count = self.of_asset.get((site, asset_id), 0)
        if not declared:
            if count >= self.per_asset:
                return self._refuse(
                    "ingest.max_series_per_asset", self.per_asset, f"asset {asset_id!r} has"
                )
            if len(self.known) >= self.total:
                return self._refuse("ingest.max_series", self.total, "the daemon has")
        self.known.add(key)
        self.of_asset[(site, asset_id)] = count + 1
        return None

    def _refuse(self, setting: str, limit: int, who: str) -> str:
        self.refused += 1
        detail = (
            f"{who} {limit:,} series ({setting}); a new series is refused. Declare the"
            f" metric in the asset registry or raise {setting}"
        )
        if setting not in self._warned:
            self._warned.add(setting)
            log.warning("series_cap_reached", setting=setting, limit=limit, detail=detail)
        return detail
