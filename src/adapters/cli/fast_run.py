"""`provledger run … -- COMMAND` without typer, rich or pydantic (start-up budget: 150 ms).

The full CLI costs about 300 ms of imports before any work. This path parses the plain forms of
`run` itself and opens the ledger from `StoreSettings`; anything it does not understand (help, an
unknown option, a bad value, the `run CONFIG` form, settings beyond the database location) returns
None and the typer command handles it, so errors and help look the same as everywhere else.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..capture.probes import Probes
    from ..events.settings import StoreSettings

VALUE_OPTIONS = {"--case": "case", "--namespace": "namespace", "--config": "config"}
LIST_OPTIONS = {"--input": "inputs", "--output": "outputs"}
FLAGS = {"--quiet": ("quiet", True), "--no-quiet": ("quiet", False), "--json": ("as_json", True)}
CONFIG_SUFFIXES = (".yaml", ".yml", ".toml", ".json")


@dataclass
class RunArguments:
    command: list[str]
    case: str | None = None
    namespace: str = "default"
    config: str | None = None
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    quiet: bool = False
    as_json: bool = False


def parse_run_arguments(args: list[str]) -> RunArguments | None:
    """The arguments after `run`, parsed as the typer command would; None to let typer do it.

    Options come before the command; `--` or the first non-option starts it."""
    values: dict[str, str] = {}
    lists: dict[str, list[str]] = {"inputs": [], "outputs": []}
    flags: dict[str, bool] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        name, eq, inline = arg.partition("=")
        if name in FLAGS and not eq:
            key, value = FLAGS[name]
            flags[key] = value
            i += 1
            continue
        if name not in VALUE_OPTIONS and name not in LIST_OPTIONS:
            return None
        if eq:
            value_text, i = inline, i + 1
        elif i + 1 < len(args):
            value_text, i = args[i + 1], i + 2
        else:
            return None
        if not value_text:
            return None
        if name in VALUE_OPTIONS:
            values[VALUE_OPTIONS[name]] = value_text
        else:
            lists[LIST_OPTIONS[name]].append(value_text)
    command = args[i:]
    if not command:
        return None
    if "config" not in values and len(command) == 1 and _is_config_file(command[0]):
        return None  # the `run CONFIG` form reads the pulled working config: the full path
    return RunArguments(
        command=command,
        case=values.get("case"),
        namespace=values.get("namespace", "default"),
        config=values.get("config"),
        inputs=lists["inputs"],
        outputs=lists["outputs"],
        quiet=flags.get("quiet", False),
        as_json=flags.get("as_json", False),
    )


def _is_config_file(arg: str) -> bool:
    return arg.lower().endswith(CONFIG_SUFFIXES) and Path(arg).is_file()


def try_fast_run(args: list[str]) -> int | None:
    """Run and record COMMAND; its exit status, or None when the full CLI must handle args."""
    from ..events.settings import store_from_environment

    parsed = parse_run_arguments(args)
    store = store_from_environment() if parsed is not None else None
    if parsed is None or store is None:
        return None
    from ..capture.probes import start_probes

    # git is probed while the ledger's modules import.
    probes = start_probes(Path.cwd())
    from .failures import describe
    from .plain import print_error

    try:
        return _run(parsed, store, probes)
    except Exception as e:
        described = describe(e)
        if described is None:
            raise
        message, code = described
        print_error(message)
        return code


def _run(parsed: RunArguments, store: StoreSettings, probes: Probes) -> int:
    from ...domain.context import acting_as
    from ..bootstrap import bootstrap
    from ..capture.heartbeat import FileHeartbeats
    from ..capture.session import Capture, RunRequest
    from .plain import print_json
    from .run_report import run_summary, summary_lines

    request = RunRequest(
        command=parsed.command,
        case=parsed.case,
        namespace=parsed.namespace,
        config=Path(parsed.config) if parsed.config else None,
        inputs=[Path(p) for p in parsed.inputs],
        outputs=[Path(p) for p in parsed.outputs],
        echo=not parsed.quiet,
        echo_stdout_to_stderr=parsed.as_json,
        probes=probes,
    )
    ledger = bootstrap(store)
    try:
        with acting_as(actor=os.environ.get("PROVLEDGER_ACTOR") or None, ledger=ledger.ledger_id):
            heartbeats = FileHeartbeats(store.home / "heartbeats")
            capture = Capture(ledger, store.home, heartbeats, catch_up=False)
            outcome = capture.run(request)
    finally:
        ledger.close()
    summary = run_summary(outcome)
    if parsed.as_json:
        print_json(summary)
    else:
        sys.stderr.write("".join(f"{line}\n" for line in summary_lines(outcome, summary)))
    return outcome.exit_code
