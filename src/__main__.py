"""`python -m provledger` runs the CLI."""

from provledger.adapters.cli.entry import main

main()
