"""The `provledger` console script: `run` takes a fast path, every other command the typer CLI."""

from __future__ import annotations

import sys


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["run"]:
        from .fast_run import try_fast_run

        code = try_fast_run(args[1:])
        if code is not None:
            sys.stdout.flush()
            sys.exit(code)
    from .main import run

    run()
