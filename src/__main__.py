"""`python -m provledger` runs the CLI."""

from provledger.adapters.cli.main import run

run()
