"""Templates, filters, and the one way a page answers: HTML, or its JSON twin (`?format=json`)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from .auth import CSRF_FIELD, Viewer

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
STATUSES = ("succeeded", "failed", "incomplete", "running", "cancelled", "unknown")
STATUS_MARKS = {
    "succeeded": "✓",
    "failed": "✗",
    "incomplete": "◐",
    "running": "▶",
    "cancelled": "■",
    "unknown": "?",
}


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def duration(started: Any, ended: Any) -> str:
    a, b = _when(started), _when(ended)
    if a is None or b is None:
        return ""
    try:
        seconds = (b - a).total_seconds()
    except TypeError:  # one naive, one aware
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def moment(value: Any) -> str:
    when = _when(value)
    if when is None:
        return str(value or "")
    return when.strftime("%Y-%m-%d %H:%M:%S") + (
        "" if when.tzinfo is None else when.strftime(" %z")
    )


def plain(value: Any) -> str:
    """A value as compact JSON text (strings bare)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


def script_json(value: Any) -> Markup:
    """JSON safe inside <script type="application/json"> (no `</script>` break-out)."""
    text = msgspec.json.encode(value).decode()
    safe = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(safe)  # noqa: S704 (escaped above: no tag can open or close)


def changed_under(path: str, changed: dict[str, Any]) -> bool:
    """Whether any changed field lies under `path` (a collapsed branch says so)."""
    prefix = path + "."
    return any(name.startswith(prefix) for name in changed)


templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.auto_reload = False  # shipped templates never change under a running server
templates.env.filters.update(moment=moment, plain=plain, script_json=script_json)
templates.env.globals.update(
    duration=duration,
    changed_under=changed_under,
    STATUSES=STATUSES,
    STATUS_MARKS=STATUS_MARKS,
    CSRF_FIELD=CSRF_FIELD,
)


def wants_json(request: Request) -> bool:
    return request.query_params.get("format") == "json"


def json_twin_url(request: Request) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "format"]
    params.append(("format", "json"))
    from urllib.parse import urlencode

    return f"{request.url.path}?{urlencode(params)}"


def page(
    request: Request,
    template: str,
    who: Viewer,
    data: dict[str, Any],
    *,
    status_code: int = 200,
    api: str | None = None,
    **extra: Any,
) -> Response:
    """The page, or with `?format=json` the data it shows."""
    if wants_json(request):
        return JSONResponse(msgspec.to_builtins(data), status_code=status_code)
    return templates.TemplateResponse(
        request,
        template,
        {
            "data": data,
            "who": who,
            "json_url": json_twin_url(request),
            "api_url": api,
            **extra,
        },
        status_code=status_code,
    )


def error_page(request: Request, who: Viewer | None, status_code: int, message: str) -> Response:
    if wants_json(request) or who is None:
        return JSONResponse(
            {"error": {"code": "error", "message": message, "details": {}}},
            status_code=status_code,
        )
    return templates.TemplateResponse(
        request,
        "error.html",
        {"who": who, "message": message, "status_code": status_code, "data": {}},
        status_code=status_code,
    )


def html(text: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status_code)
