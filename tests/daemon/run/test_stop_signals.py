"""Stop signals: handled by the loop while running; ignored once the drain is done."""

from __future__ import annotations

import asyncio
import signal

from gatewatch.daemon.run.compose import ignore_stop_signals, install_signal_handlers


def test_after_the_drain_a_repeated_sigterm_no_longer_kills_the_exiting_process() -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:

        async def main() -> bool:
            stop = asyncio.Event()
            install_signal_handlers(stop)
            signal.raise_signal(signal.SIGTERM)  # while running: it asks for the drain
            await asyncio.wait_for(stop.wait(), 5)
            ignore_stop_signals()
            return stop.is_set()

        assert asyncio.run(main())
        # the loop is closed (it would have put back the default, fatal handler)
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        signal.raise_signal(signal.SIGTERM)  # ignored: the test process lives on
    finally:
        signal.signal(signal.SIGTERM, before[0])
        signal.signal(signal.SIGINT, before[1])
