"""Metric series for display: x (the step, or the point's index), y, downsampled on the server.

A series longer than `limit` points is cut into buckets and each bucket keeps its lowest and its
highest point, in step order: spikes and dips survive, and the browser draws at most `limit`
points however long the run. The full series stays a download (`/executions/{id}/metrics.json`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

DISPLAY_POINTS = 1000
MAX_CHARTS = 60


def series(points: Sequence[Any]) -> tuple[list[float], list[float | None]]:
    """(x, y) of metric points: x is the step when every point has one, else the index."""
    steps = [p.step for p in points]
    use_steps = all(s is not None for s in steps)
    pairs = sorted(
        (
            (float(s) if use_steps else float(i), _finite(p.value))
            for i, (p, s) in enumerate(zip(points, steps, strict=True))
        ),
        key=lambda xy: xy[0],
    )
    return [x for x, _ in pairs], [y for _, y in pairs]


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def downsample(
    xs: list[float], ys: list[float | None], limit: int = DISPLAY_POINTS
) -> tuple[list[float], list[float | None]]:
    """At most `limit` points: per bucket its minimum and maximum, in x order."""
    n = len(xs)
    if n <= limit or limit < 4:
        return xs, ys
    buckets = limit // 2
    out_x: list[float] = []
    out_y: list[float | None] = []
    for b in range(buckets):
        start = b * n // buckets
        end = (b + 1) * n // buckets
        idx = [i for i in range(start, end) if ys[i] is not None]
        if not idx:
            out_x.append(xs[start])
            out_y.append(None)
            continue
        lo = min(idx, key=lambda i: ys[i])  # type: ignore[arg-type,return-value]
        hi = max(idx, key=lambda i: ys[i])  # type: ignore[arg-type,return-value]
        for i in sorted({lo, hi}):
            out_x.append(xs[i])
            out_y.append(ys[i])
    return out_x, out_y


def chart(name: str, points: Sequence[Any], limit: int = DISPLAY_POINTS) -> dict[str, Any]:
    xs, ys = series(points)
    shown_x, shown_y = downsample(xs, ys, limit)
    last = next((y for y in reversed(ys) if y is not None), None)
    return {
        "name": name,
        "points": len(xs),
        "shown": len(shown_x),
        "last": last,
        "x": shown_x,
        "series": [{"label": name, "y": shown_y}],
    }


def overlay(
    name: str, runs: list[tuple[str, Sequence[Any]]], limit: int = DISPLAY_POINTS
) -> dict[str, Any]:
    """One chart with a line per run, on the union of their (downsampled) x values."""
    per_run = []
    for label, points in runs:
        xs, ys = series(points)
        per_run.append((label, *downsample(xs, ys, limit)))
    union = sorted({x for _, xs, _ in per_run for x in xs})
    at = {x: i for i, x in enumerate(union)}
    lines = []
    for label, xs, ys in per_run:
        aligned: list[float | None] = [None] * len(union)
        for x, y in zip(xs, ys, strict=True):
            aligned[at[x]] = y
        lines.append({"label": label, "y": aligned})
    return {"name": name, "points": len(union), "shown": len(union), "x": union, "series": lines}
