"""The `provledger` command line (typer + rich)."""
