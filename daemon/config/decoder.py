"""The payload decoder a configuration describes: one place for the live ingest and for
``gatewatch map test``, so that a test decodes exactly as the daemon would."""

from __future__ import annotations

from gatewatch.daemon.config.load import Config
from gatewatch.sensors.cardinality import SeriesCap
from gatewatch.sensors.decode import PayloadDecoder


def build_decoder(cfg: Config) -> PayloadDecoder:
    return PayloadDecoder(
        cfg.topics,
        cfg.assets,
        default_site=cfg.site,
        max_payload_bytes=cfg.ingest.max_payload_bytes,
        strict_assets=cfg.ingest.strict_assets,
        mappings=cfg.mappings,
        sparkplug=cfg.sparkplug,
        series_cap=SeriesCap(
            cfg.assets, per_asset=cfg.ingest.max_series_per_asset, total=cfg.ingest.max_series
        ),
    )
