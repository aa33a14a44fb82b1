"""Git and environment probes, run beside the main work.

`provledger run` starts them before it imports the ledger, so the `git` calls and the package
scan overlap the ~100 ms of imports instead of following them. Only the standard library is
imported here; each probe imports what it needs in its own thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class Probe(threading.Thread):
    """Run a function in the background; its result is joined when needed."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.fn = fn
        self.value: Any = None
        self.error: Exception | None = None
        self.start()

    def run(self) -> None:
        try:
            self.value = self.fn()
        except Exception as e:  # reported as missing information, never fatal
            self.error = e

    def result(self) -> Any:
        self.join()
        return self.value


@dataclass(frozen=True)
class Probes:
    """What a run records about where it ran: git state of `cwd`, and the environment."""

    cwd: Path
    code: Probe


def git_probe(cwd: Path) -> Probe:
    """CodeVersion's fields as a dict (or None): plain data, no domain import in the thread."""

    def probe() -> Any:
        from .gitstate import git_facts

        return git_facts(cwd)

    return Probe(probe)


def environment_probe(home: Path) -> Probe:
    def probe() -> Any:
        from .environment import environment

        return environment(cache_dir=home / "cache")

    return Probe(probe)


def start_probes(cwd: Path) -> Probes:
    """Started before the ledger's modules import: only git, whose calls wait on a child process
    (the environment probe imports and parses, and would compete with those imports)."""
    return Probes(cwd, git_probe(cwd))
