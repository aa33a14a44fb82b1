"""The web UI: server-rendered pages (Jinja2) over the same application layer as the API, with
htmx and uPlot shipped in `static/vendor/` (no Node, no CDN; docs/adr/0011-web-ui.md)."""

from __future__ import annotations

from .render import STATIC_DIR
from .views import router

__all__ = ["STATIC_DIR", "router"]
