"""Errors of capture: each names the file, input or command that is wrong."""

from __future__ import annotations


class CaptureError(ValueError):
    """Bad input to `provledger run`, `pin` or `reproduce` (shown as one line, exit status 2)."""
