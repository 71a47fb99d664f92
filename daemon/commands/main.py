"""The ``gatewatch`` command. Exit codes: 0 ok, 1 invalid input, 2 usage.

Each command family is one module of this folder with ``register(subparsers)``
and ``dispatch(args) -> exit code | None``; a new family is one module plus one
entry in COMMANDS.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from gatewatch.core.yamlsource import ConfigError
from gatewatch.daemon.commands import (
    anomaly,
    bench,
    config,
    deadletters,
    rules,
    run,
    silence,
    tickets,
)

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
COMMANDS = (run, bench, config, rules, silence, anomaly, tickets, deadletters)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gatewatch", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `gatewatch ... | head`: the reader has gone, which is fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush stays quiet
        return 0


def _dispatch(args: argparse.Namespace) -> int:
    for command in COMMANDS:
        if (code := command.dispatch(args)) is not None:
            return int(code)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
