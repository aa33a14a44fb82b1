"""`provledger lineage`: where a file came from and what used it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from .main import app, open_ledger
from .output import console, fail, print_json

SHA256 = re.compile(r"[0-9a-fA-F]{64}")


@app.command()
def lineage(
    target: Annotated[str, typer.Argument(help="A file (hashed first), a sha256, or a uri.")],
    up: Annotated[bool, typer.Option("--up", help="Only upstream: what it was made from.")] = False,
    down: Annotated[bool, typer.Option("--down", help="Only downstream: what used it.")] = False,
    depth: Annotated[
        int, typer.Option("--depth", min=1, max=100, help="Executions away, at most.")
    ] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Which executions produced the file, which consumed it, and transitively upstream or
    downstream (--depth), with case, status and time."""
    from ...application.lineage import Direction, file_lineage

    if up and down:
        fail("choose --up or --down (neither: both ways)")
    direction: Direction = "up" if up else "down" if down else "both"
    with open_ledger() as ledger:
        ledger.catch_up()
        digest = resolve_file(ledger.queries, target)
        graph = file_lineage(ledger.queries, digest, direction, depth)
    file_node = graph.nodes.get(digest, {"id": digest, "uris": []})
    data = {
        "file": {"sha256": digest, "uris": file_node.get("uris", [])},
        "direction": direction,
        "depth": depth,
        "producers": [_brief(n) for n in graph.producers(digest)],
        "consumers": [_brief(n) for n in graph.consumers(digest)],
        **graph.to_public(),
    }
    if as_json:
        print_json(data)
        return
    _print(data)


def resolve_file(queries: Any, target: str) -> str:
    """The sha256 a target names: a sha256 as is, a local file hashed, else a recorded uri."""
    if SHA256.fullmatch(target):
        return target.lower()
    path = Path(target)
    if path.is_file():
        from ..capture.hashing import sha256_file

        return sha256_file(path)
    digests: set[str] = {r["sha256"] for r in queries.files_at(target) if r["sha256"]}
    if not digests:
        fail(f"no such file, sha256 or recorded uri: {target}")
    if len(digests) > 1:
        fail(f"{target} was recorded with {len(digests)} different contents; give a sha256")
    return digests.pop()


def _brief(node: dict[str, Any]) -> dict[str, Any]:
    return {k: node[k] for k in ("id", "execution_id", "case", "status", "started", "ended")}


def _print(data: dict[str, Any]) -> None:
    uris = ", ".join(data["file"]["uris"]) or "no recorded path"
    console.print(f"[bold]{data['file']['sha256']}[/] ({escape(uris)})", highlight=False)
    for title, rows in (("produced by", data["producers"]), ("used by", data["consumers"])):
        if not rows:
            console.print(f"  {title}: none recorded", highlight=False)
        for node in rows:
            console.print(f"  {title} {_line(node)}", highlight=False, markup=False)
    executions = [n for n in data["nodes"] if n["type"] == "execution" and n["depth"] > 1]
    if executions:
        way = {"up": "upstream", "down": "downstream", "both": "further"}[data["direction"]]
        console.print(f"  {way} ({len(executions)}):", highlight=False)
        for node in sorted(executions, key=lambda n: (n["depth"], n["started"] or "")):
            console.print(f"    [{node['depth']}] {_line(node)}", highlight=False, markup=False)


def _line(node: dict[str, Any]) -> str:
    when = node["started"] or "time unknown"
    return f"{node['case']}/{node['execution_id']} [{node['status']}] {when}"
