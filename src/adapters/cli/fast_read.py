"""`cases`, `show`, `executions` and `--version` without typer, rich or pydantic.

As with `run` (fast_run.py), the full CLI costs hundreds of milliseconds of imports before any
work. This path takes the plain forms of the everyday read commands and prints exactly what the
typer commands print (both go through read_views.py); anything else (help, another option, a
bad value, settings beyond the database location) returns None and the typer CLI handles it.
"""

from __future__ import annotations

import os
import sys

READ_FORMS: dict[str, tuple[int, dict[str, str], set[str]]] = {
    # command: (positional arguments, value options -> keyword, flags)
    "cases": (
        0,
        {"--namespace": "namespace", "--group": "group", "--text": "text", "--limit": "limit"},
        {"--json"},
    ),
    "show": (1, {}, {"--json"}),
    "executions": (0, {"--case": "case", "--limit": "limit"}, {"--json"}),
}


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("provledger")
    except PackageNotFoundError:
        return "unknown"


def parse(args: list[str]) -> tuple[str, list[str], dict[str, str], set[str]] | None:
    """(command, positionals, options, flags), or None to leave the arguments to typer."""
    if not args or args[0] not in READ_FORMS:
        return None
    name, rest = args[0], args[1:]
    count, options, known_flags = READ_FORMS[name]
    positional: list[str] = []
    values: dict[str, str] = {}
    flags: set[str] = set()
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg in known_flags:
            flags.add(arg)
        elif arg in options and i + 1 < len(rest) and rest[i + 1]:
            values[options[arg]] = rest[i + 1]
            i += 1
        elif arg.startswith("-"):
            return None  # --help, --opt=value, an unknown option: typer's
        else:
            positional.append(arg)
        i += 1
    if len(positional) != count:
        return None
    if "limit" in values and not (
        values["limit"].isdigit() and 1 <= int(values["limit"]) <= 100_000
    ):
        return None
    return name, positional, values, flags


def try_fast_read(args: list[str]) -> int | None:
    """Answer a plain read command; its exit status, or None when the typer CLI must."""
    from ..events.settings import store_from_environment

    parsed = parse(args)
    store = store_from_environment() if parsed is not None else None
    if parsed is None or store is None:
        return None
    name, positional, values, flags = parsed
    if name == "executions" and "--json" not in flags:
        return None  # the table's --columns and query options live in the typer command
    from .failures import describe
    from .plain import print_error

    try:
        return _read(store, name, positional, values, "--json" in flags)
    except Exception as e:
        described = describe(e)
        if described is None:
            raise
        message, code = described
        print_error(message)
        return code


def _read(
    store: object, name: str, positional: list[str], values: dict[str, str], as_json: bool
) -> int:
    from ...domain.context import acting_as
    from ..bootstrap import bootstrap
    from .read_views import print_cases, print_show

    ledger = bootstrap(store)  # type: ignore[arg-type]
    try:
        with acting_as(actor=os.environ.get("PROVLEDGER_ACTOR") or None, ledger=ledger.ledger_id):
            if name == "cases":
                print_cases(
                    ledger,
                    namespace=values.get("namespace"),
                    group=values.get("group"),
                    text=values.get("text"),
                    limit=int(values.get("limit", 100)),
                    as_json=as_json,
                )
            elif name == "show":
                print_show(ledger, positional[0], as_json=as_json)
            else:
                _executions_json(ledger, values)
    finally:
        ledger.close()
    return 0


def _executions_json(ledger: object, values: dict[str, str]) -> None:
    from ...application.ports import ExecutionFilter
    from ..presenters import execution_public
    from .plain import print_json

    ledger.catch_up()  # type: ignore[attr-defined]
    page = ledger.queries.list_executions(  # type: ignore[attr-defined]
        ExecutionFilter(case=values.get("case")), limit=int(values.get("limit", 100))
    )
    print_json([execution_public(r) for r in page.items])


def print_version() -> None:
    sys.stdout.write(f"provledger {version()}\n")
