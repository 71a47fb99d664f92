"""The anomaly stage: durable readings in; the readings and their derived signals on.

A stage beside the rules, not inside them: an installation without rules still
computes the derived signals and trains and saves its models. It starts by
offering the saved models back and replaying the recent vibration history
from the store (:meth:`AnomalyRuntime.warm_up`), ticks on the rules' cadence
(windows close when data is sparse, the daily forecast), saves the models
trained since the last tick, and saves them once more when it stops.

Each durable batch goes on as one batch, the readings then their signals, so
the rules evaluate it once; a signal made on a tick goes on alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from gatewatch.core.reading import Reading
from gatewatch.core.signals import DerivedSignal
from gatewatch.daemon.config.load import Config
from gatewatch.daemon.run.anomaly_runtime import AnomalyRuntime
from gatewatch.daemon.run.stage import Ticker, guarded

SignalsSink = Callable[[Sequence[Reading | DerivedSignal]], None]


class AnomalyStage:
    name = "anomaly"

    def __init__(
        self,
        cfg: Config,
        runtime: AnomalyRuntime,
        downstream: SignalsSink,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cfg, self.runtime, self.downstream, self.clock = cfg, runtime, downstream, clock
        self._ticker = Ticker("anomaly-tick", cfg.rules.tick_every, self.tick)

    async def start(self) -> None:
        """Off the event loop: reading the saved models and replaying weeks of history
        through them can take seconds (nothing else uses the models before this ends)."""
        await asyncio.to_thread(self.runtime.restore_models, self.cfg.state_db)
        now = self.clock()
        await asyncio.to_thread(
            self.runtime.warm_up, self.cfg.store.path, self.cfg.state_db, now=now
        )
        self._ticker.start()

    def draining(self) -> None:
        """Readings still being drained keep flowing through the models."""

    async def stop(self) -> None:
        await self._ticker.stop()
        self._save(self.clock())

    def on_readings(self, readings: list[Reading], _durable_at: float) -> None:
        """Ingest listener: a batch the store has committed, in order."""
        if not readings:
            return
        signals = guarded(lambda: self.runtime.on_readings(readings), "anomaly_step_failed")
        self.downstream([*readings, *signals])

    def tick(self) -> None:
        now = self.clock()
        signals = guarded(lambda: self.runtime.tick(now), "anomaly_step_failed")
        if signals:
            self.downstream(signals)
        self._save(now)

    def _save(self, now: float) -> None:
        """Models trained since the last save go to state.db (a failure is logged, not fatal)."""
        guarded(lambda: [self.runtime.save_models(now)], "anomaly_models_save_failed")
