"""File lineage: which executions produced a file, which used it, and transitively upstream
(what it was made from) or downstream (what was made from it).

Files are linked by content (sha256), so a file copied or renamed between steps still links.
A file recorded without a sha256 links by its uri when that is a full URI (`scheme://...`: an
OpenLineage dataset, an S3 object); any other is shown on its execution but links nothing.
Depth counts executions: depth 1 is the file's producers (up) or consumers (down).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Direction = Literal["up", "down", "both"]
PRODUCED = ("output", "artifact")
MAX_DEPTH = 100


class LineageReads(Protocol):
    def files_with_sha256(self, digests: list[str]) -> list[dict[str, Any]]: ...

    def files_of_executions(self, executions: list[str]) -> list[dict[str, Any]]: ...

    def files_at(self, uri: str) -> list[dict[str, Any]]: ...


def file_key(row: dict[str, Any]) -> str | None:
    """How a file row links: its sha256, else its uri when that is a full URI."""
    digest: str | None = row["sha256"]
    if digest is None and "://" in (row["uri"] or ""):
        return str(row["uri"])
    return digest


def _rows_of_files(reads: LineageReads, keys: set[str]) -> list[dict[str, Any]]:
    digests = sorted(k for k in keys if "://" not in k)
    rows = reads.files_with_sha256(digests) if digests else []
    for uri in sorted(k for k in keys if "://" in k):
        rows += [r for r in reads.files_at(uri) if r["sha256"] is None]
    return rows


@dataclass
class Lineage:
    """Nodes (files by sha256, executions by uuid) and edges `used` (execution -> file) and
    `wasGeneratedBy` (file -> execution)."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)

    def add_row(self, row: dict[str, Any], depth: int) -> None:
        """One file row of an execution: both nodes and the edge between them."""
        execution = row["execution"]
        if execution not in self.nodes:
            self.nodes[execution] = {
                "id": execution,
                "type": "execution",
                "execution_id": row["execution_id"],
                "case": f"{row['namespace']}/{row['case_name']}",
                "status": row["status"],
                "started": row["started"],
                "ended": row["ended"],
                "depth": depth,
            }
        digest = file_key(row)
        if digest is None:
            return
        node = self.nodes.setdefault(
            digest, {"id": digest, "type": "file", "uris": [], "size": row["size"]}
        )
        if row["uri"] not in node["uris"]:
            node["uris"].append(row["uri"])
        if row["direction"] in PRODUCED:
            edge = (digest, "wasGeneratedBy", execution)
        else:
            edge = (execution, "used", digest)
        self.edges.setdefault(
            edge, {"from": edge[0], "relation": edge[1], "to": edge[2], "role": row["role"]}
        )

    def producers(self, digest: str) -> list[dict[str, Any]]:
        return [self.nodes[t] for (f, r, t) in self.edges if f == digest and r == "wasGeneratedBy"]

    def consumers(self, digest: str) -> list[dict[str, Any]]:
        return [self.nodes[f] for (f, r, t) in self.edges if t == digest and r == "used"]

    def to_public(self) -> dict[str, Any]:
        return {"nodes": list(self.nodes.values()), "edges": list(self.edges.values())}


def file_lineage(reads: LineageReads, digest: str, direction: Direction, depth: int) -> Lineage:
    """The graph around a file: its producers and consumers, and `depth` executions further
    up, down or both ways."""
    graph = Lineage()
    for way in _ways(direction):
        _walk(reads, graph, {digest}, way, depth)
    if digest in graph.nodes:
        graph.nodes[digest]["depth"] = 0
    return graph


def execution_lineage(
    reads: LineageReads, execution: str, direction: Direction, depth: int
) -> Lineage:
    """The graph around an execution: its files, and `depth` executions up, down or both."""
    graph = Lineage()
    rows = reads.files_of_executions([execution])
    for row in rows:
        graph.add_row(row, 0)
    for way in _ways(direction):
        wanted = ("input",) if way == "up" else PRODUCED
        start = {k for r in rows if (k := file_key(r)) and r["direction"] in wanted}
        _walk(reads, graph, start, way, depth, seen_executions={execution})
    return graph


def _ways(direction: Direction) -> tuple[str, ...]:
    return ("up", "down") if direction == "both" else (direction,)


def _walk(
    reads: LineageReads,
    graph: Lineage,
    files: set[str],
    way: str,
    depth: int,
    seen_executions: Iterable[str] = (),
) -> None:
    """Breadth first, one level of executions (two queries) at a time; nothing visited twice,
    so a cycle (a file produced from itself) ends."""
    seen = set(seen_executions)
    seen_files = set(files)
    level = 1
    while files and level <= min(depth, MAX_DEPTH):
        # Up: who produced these files; down: who used them.
        wanted = PRODUCED if way == "up" else ("input",)
        hits = [r for r in _rows_of_files(reads, files) if r["direction"] in wanted]
        for row in hits:
            graph.add_row(row, level)
        executions = sorted({r["execution"] for r in hits} - seen)
        seen.update(executions)
        if not executions:
            return
        rows = reads.files_of_executions(executions)
        further = ("input",) if way == "up" else PRODUCED
        files = set()
        for row in rows:
            graph.add_row(row, level)
            key = file_key(row)
            if row["direction"] in further and key and key not in seen_files:
                files.add(key)
        seen_files |= files
        level += 1
