"""SDK errors: each names what is wrong."""

from __future__ import annotations


class TrackingError(ValueError):
    """Bad use of the SDK (e.g. a non-finite metric) or a backend that refused a run."""
