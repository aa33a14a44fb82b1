"""Output with the standard library and msgspec only (for the fast `run` path and `--json`)."""

from __future__ import annotations

import sys
from typing import Any

import msgspec


def print_json(data: Any) -> None:
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(data), indent=2).decode() + "\n")


def print_error(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")


# -- human output: one value style, one table style (stdlib only, for the fast paths too) -------

NONE = "—"


def human(value: Any) -> str:
    """A value as a person writes it: `—` for none, yes/no, numbers plainly, JSON for nested."""
    if value is None or value == "":
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict | list | tuple):
        return msgspec.json.encode(value).decode()
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def color_enabled(stream: Any = None) -> bool:
    """Colour only for a terminal, never with NO_COLOR set (https://no-color.org) or TERM=dumb."""
    import os

    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return _is_terminal(stream or sys.stdout) and os.environ.get("TERM") != "dumb"


def output_width(stream: Any = None) -> int | None:
    """The terminal's width (COLUMNS wins); None for a pipe or file without COLUMNS: no limit."""
    import os
    import shutil

    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if _is_terminal(stream or sys.stdout):
        return shutil.get_terminal_size().columns
    return None


STYLES = {"bold": "1", "dim": "2", "green": "32", "red": "31", "yellow": "33", "cyan": "36"}


def styled(text: str, style: str, enabled: bool) -> str:
    codes = ";".join(STYLES[s] for s in style.split() if s in STYLES)
    return f"\033[{codes}m{text}\033[0m" if enabled and codes else text


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


MIN_FREE_WIDTH = 12


def render_table(
    headers: list[str],
    rows: list[list[Any]],
    *,
    free: tuple[str, ...] = (),
    title: str | None = None,
    width: int | None = None,
    color: bool = False,
) -> str:
    """The table every command prints: a header, a rule, one line per row, two spaces apart.

    Cells are `human` values on one line. Ids, names and times are never cut; only the `free`
    columns (free text, details) are, with `…`, when the lines would be wider than `width`."""
    cells = [[" ".join(human(c).split()) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    if width is not None:
        over = sum(widths) + 2 * (len(widths) - 1) - width
        cuttable = sorted((i for i, h in enumerate(headers) if h in free), key=lambda i: -widths[i])
        for i in cuttable:
            if over <= 0:
                break
            floor = max(MIN_FREE_WIDTH, len(headers[i]))
            give = min(over, max(widths[i] - floor, 0))
            widths[i] -= give
            over -= give

    def line(values: list[str]) -> str:
        last = len(values) - 1
        parts = [
            _cut(v, widths[i]) if i == last else _cut(v, widths[i]).ljust(widths[i])
            for i, v in enumerate(values)
        ]
        return "  ".join(parts).rstrip()

    out = []
    if title:
        out.append(styled(title, "bold", color))
    out.append(styled(line(headers), "bold", color))
    out.append("  ".join("─" * w for w in widths))
    out.extend(line(r) for r in cells)
    return "\n".join(out) + "\n"


def print_table(
    headers: list[str],
    rows: list[list[Any]],
    *,
    free: tuple[str, ...] = (),
    title: str | None = None,
) -> None:
    sys.stdout.write(
        render_table(
            headers,
            rows,
            free=free,
            title=title,
            width=output_width(sys.stdout),
            color=color_enabled(sys.stdout),
        )
    )


def print_lines(lines: list[str]) -> None:
    sys.stdout.write("".join(f"{line}\n" for line in lines))


def when(value: Any) -> str:
    """A time as a person reads it in a table: `2026-12-05 23:06:30` (UTC, to the second)."""
    from datetime import UTC, datetime

    if value is None:
        return NONE
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")
