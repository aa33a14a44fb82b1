"""`/api/v1/tokens/current`: which token the caller is using (tokens are made by the CLI)."""

from __future__ import annotations

from fastapi import APIRouter

from ..deps import Reader
from ..schemas.status import TokenPublic

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.get("/current", summary="The caller's token: id, name, scope (never the secret)")
def current_token(principal: Reader) -> TokenPublic:
    return TokenPublic(
        id=principal.token_id,
        name=principal.name,
        scope=principal.scope,
        created_at=principal.created_at,
    )
