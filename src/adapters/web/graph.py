"""The lineage graph around a file as an SVG drawn on the server (no script needed).

Data flows left to right: an execution that produced a file stands left of it, one that used
it right of it. Columns come from a walk out of the centre file (one step along the flow is one
column right, against it one column left); each node is a link to its page.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from html import escape
from typing import Any

COL_W, ROW_H, NODE_W, NODE_H, PAD = 230, 56, 190, 38, 16
MAX_NODES = 200


@dataclass(frozen=True)
class Placed:
    node: dict[str, Any]
    col: int
    row: int


def _flow(edges: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(from, to) along the data flow: producer -> file -> consumer."""
    # wasGeneratedBy is file -> execution, used is execution -> file: both run against the flow.
    return [(e["to"], e["from"]) for e in edges]


def layout(center: str, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> list[Placed]:
    by_id = {n["id"]: n for n in nodes[:MAX_NODES]}
    if center not in by_id and nodes:
        by_id[center] = next((n for n in nodes if n["id"] == center), nodes[0])
    flow = [(a, b) for a, b in _flow(edges) if a in by_id and b in by_id]
    nxt: dict[str, list[tuple[str, int]]] = {}
    for a, b in flow:
        nxt.setdefault(a, []).append((b, 1))
        nxt.setdefault(b, []).append((a, -1))
    col = {center: 0}
    queue = deque([center])
    while queue:
        here = queue.popleft()
        for there, step in nxt.get(here, []):
            if there not in col:
                col[there] = col[here] + step
                queue.append(there)
    for ident in by_id:  # not connected (should not happen): a column of their own
        col.setdefault(ident, min(col.values(), default=0) - 1)
    rows: dict[int, int] = {}
    placed = []
    for ident in sorted(by_id, key=lambda i: (col[i], by_id[i].get("type", ""), _label(by_id[i]))):
        c = col[ident]
        placed.append(Placed(by_id[ident], c, rows.get(c, 0)))
        rows[c] = rows.get(c, 0) + 1
    return placed


def _label(node: dict[str, Any]) -> str:
    if node.get("type") == "file":
        uris = node.get("uris") or []
        name = uris[0].rsplit("/", 1)[-1] if uris else node["id"][:12]
        return str(name)
    return f"{node.get('case', '')} {node.get('execution_id', '')}".strip()


def _href(node: dict[str, Any]) -> str:
    if node.get("type") == "file":
        return f"/files/{node['id']}"
    return f"/executions/{node['id']}"


def _short(text: str, n: int = 28) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def svg(center: str, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> str:
    placed = layout(center, nodes, edges)
    if not placed:
        return ""
    low = min(p.col for p in placed)
    height = max(p.row for p in placed) + 1
    width = (max(p.col for p in placed) - low + 1) * COL_W
    where = {}
    for p in placed:
        x = PAD + (p.col - low) * COL_W
        y = PAD + p.row * ROW_H
        where[p.node["id"]] = (x, y)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage" role="img" '
        f'aria-labelledby="lineage-title" width="{width + 2 * PAD}" '
        f'height="{height * ROW_H + 2 * PAD}" viewBox="0 0 {width + 2 * PAD} '
        f'{height * ROW_H + 2 * PAD}">',
        '<title id="lineage-title">Lineage: producers left, consumers right</title>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/>'
        "</marker></defs>",
    ]
    for a, b in _flow(edges):
        if a in where and b in where:
            (x1, y1), (x2, y2) = where[a], where[b]
            parts.append(
                f'<line class="edge" x1="{x1 + NODE_W}" y1="{y1 + NODE_H / 2}" x2="{x2}" '
                f'y2="{y2 + NODE_H / 2}" marker-end="url(#arrow)"/>'
            )
    for p in placed:
        x, y = where[p.node["id"]]
        kind = p.node.get("type", "execution")
        label = _label(p.node)
        sub = p.node["id"][:16] if kind == "file" else str(p.node.get("status") or "")
        radius = 4 if kind == "file" else 10
        cls = f"node {kind}" + (" center" if p.node["id"] == center else "")
        parts.append(
            f'<a href="{escape(_href(p.node))}" class="{cls}"><title>{escape(kind)} '
            f"{escape(label)} ({escape(p.node['id'])})</title>"
            f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="{radius}"/>'
            f'<text x="{x + 8}" y="{y + 16}">{escape(_short(label))}</text>'
            f'<text class="sub" x="{x + 8}" y="{y + 31}">{escape(kind)}: {escape(sub)}</text></a>'
        )
    parts.append("</svg>")
    return "".join(parts)
