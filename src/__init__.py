"""provledger: an event-sourced provenance ledger for simulation and pipeline executions."""

__version__ = "0.1.0"

__all__ = ["__version__", "checkpoint", "has_checkpoint", "search", "track"]


def __getattr__(name: str) -> object:
    """`provledger.track` is imported on first use, so `import provledger` stays light."""
    if name == "track":
        from .sdk import track

        return track
    if name == "search":
        from .sdk import search

        return search
    if name in ("checkpoint", "has_checkpoint"):
        from . import sdk

        return getattr(sdk, name)
    raise AttributeError(f"module 'provledger' has no attribute {name!r}")
