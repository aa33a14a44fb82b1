"""The `provledger` console script: `run`, `--version` and the everyday read commands take fast
paths (no typer, rich or pydantic); everything else the typer CLI."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import NoReturn

VERSION_FLAGS = ("--version", "-V")


def main() -> None:
    args = sys.argv[1:]
    try:
        code = _dispatch(args)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BrokenPipeError:
        code = 0
    exit_now(code)


def _dispatch(args: list[str]) -> int:
    if args[:1] == ["run"]:
        from .fast_run import try_fast_run

        code = try_fast_run(args[1:])
        if code is not None:
            return code
    elif len(args) == 1 and args[0] in VERSION_FLAGS:
        from .fast_read import print_version

        print_version()
        return 0
    else:
        from .fast_read import try_fast_read

        code = try_fast_read(args)
        if code is not None:
            return code
    from .main import run

    run()
    return 0


def exit_now(code: int) -> NoReturn:
    """Exit without tearing the interpreter down: a finished command has closed its ledger and
    written its output, and the 15-20 ms CPython spends freeing every module and object at exit
    are pure start-up budget (docs/capture.md). A reader that went away (`provledger cases |
    head -1`) is not an error: the rest of the output is dropped and the status stays 0."""
    broken = type(sys.stdout).__name__ == "PacifyFlushWrapper"  # click saw EPIPE
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            broken = True
        except (OSError, ValueError):
            pass
    if broken:
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0 if code in (0, 1) else code
    os._exit(code)
