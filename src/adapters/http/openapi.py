"""The OpenAPI document: pydantic models plus the msgspec record schema, one error shape."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ...domain.record import ExecutionRecord
from .schemas.common import ErrorResponse

DESCRIPTION = (
    "Query and append to a provledger ledger. Reads come from the read models; writes append "
    "events and return their log position (pass it as `min_position` to read your writes). "
    'Every error is `{"error": {"code", "message", "details"}}`. See docs/api.md.'
)


def _rewrite_refs(node: Any, old: str, new: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and value == old:
                node[key] = new
            else:
                _rewrite_refs(value, old, new)
    elif isinstance(node, list):
        for item in node:
            _rewrite_refs(item, old, new)


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=DESCRIPTION,
            routes=app.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        _, record_components = msgspec.json.schema_components(
            [ExecutionRecord], ref_template="#/components/schemas/{name}"
        )
        for name, value in record_components.items():
            components.setdefault(name, value)
        # FastAPI documents its own 422 body; ours is the one error shape.
        components.setdefault(
            "ErrorResponse",
            ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}"),
        )
        _rewrite_refs(
            schema,
            "#/components/schemas/HTTPValidationError",
            "#/components/schemas/ErrorResponse",
        )
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
