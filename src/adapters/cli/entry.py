"""The `provledger` console script: `run` takes a fast path, every other command the typer CLI."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import NoReturn


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["run"]:
        from .fast_run import try_fast_run

        code = try_fast_run(args[1:])
        if code is not None:
            exit_now(code)
    from .main import run

    run()


def exit_now(code: int) -> NoReturn:
    """Exit without tearing the interpreter down: a finished `run` has closed its ledger,
    joined its child's output and written its record, and the 15-20 ms CPython spends
    freeing every module and object at exit are pure start-up budget (docs/capture.md)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed or broken pipe
            stream.flush()
    os._exit(code)
