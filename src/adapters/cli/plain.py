"""Output with the standard library and msgspec only (for the fast `run` path and `--json`)."""

from __future__ import annotations

import sys
from typing import Any

import msgspec


def print_json(data: Any) -> None:
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(data), indent=2).decode() + "\n")


def print_error(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
