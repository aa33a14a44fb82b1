"""Query parameters shared by the list endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request

from ..errors import ApiError

Limit = Annotated[int, Query(ge=1, le=1000, description="Page size")]
Cursor = Annotated[
    str | None, Query(max_length=4000, description="next_cursor of the previous page")
]
DYNAMIC_PREFIXES = ("param.", "tag.")


def reject_unknown_params(request: Request) -> None:
    """A misspelt filter is an error, not a silently unfiltered list."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    known: set[str] = set()
    if dependant is not None:
        stack = [dependant]
        while stack:
            d = stack.pop()
            known.update(p.alias for p in d.query_params)
            stack.extend(d.dependencies)
    allow_dynamic = request.url.path.rstrip("/").endswith("/executions")
    unknown = [
        k
        for k in request.query_params
        if k not in known and not (allow_dynamic and k.startswith(DYNAMIC_PREFIXES))
    ]
    if unknown:
        raise ApiError(
            400,
            "unknown_parameter",
            f"unknown query parameter {unknown[0]!r}; known: {', '.join(sorted(known))}"
            + (", param.<name>, tag.<name>" if allow_dynamic else ""),
            {"unknown": unknown},
        )
