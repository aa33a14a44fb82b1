"""provledger: an event-sourced provenance ledger for simulation and pipeline executions."""

__version__ = "0.1.0"
