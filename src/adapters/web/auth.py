"""Who is looking at a page: a token in an HttpOnly, SameSite=Strict cookie (set by /login), a
Bearer header, or nobody (public reads). Writes from a cookie carry a CSRF token.

The CSRF token is derived from the cookie's token (sha256 under a fixed label), so it needs no
server state, holds across server processes, and reveals nothing of the token. A cross-site page
can neither read the cookie (HttpOnly) nor make the browser send it (SameSite=Strict); the CSRF
field and the Origin / Sec-Fetch-Site checks are the second and third locks on every POST.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from ..http.deps import Services
from ..http.tokens import ANONYMOUS, Principal

COOKIE = "provledger_token"
CSRF_FIELD = "csrf_token"
_CSRF_LABEL = b"provledger-web-csrf\0"


def csrf_for(secret: str) -> str:
    return hashlib.sha256(_CSRF_LABEL + secret.encode()).hexdigest()


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    secret: str | None = None  # the cookie's token; None for anonymous or a Bearer header
    from_cookie: bool = False

    @property
    def can_write(self) -> bool:
        return self.principal.scope == "write"

    @property
    def logged_in(self) -> bool:
        return self.principal.token_id is not None

    @property
    def csrf(self) -> str:
        return csrf_for(self.secret) if self.secret else ""


def _bearer(request: Request) -> str:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


async def viewer(request: Request, services: Services) -> Viewer | None:
    """The caller, or None when a token is needed and none (or an unknown one) was given."""
    secret = request.cookies.get(COOKIE, "").strip()
    from_cookie = bool(secret)
    if not secret:
        secret = _bearer(request) or request.headers.get("x-api-key", "").strip()
    if not secret:
        return Viewer(ANONYMOUS) if services.public_read else None
    principal = await lookup(services, secret)
    if principal is None:
        return Viewer(ANONYMOUS) if services.public_read and from_cookie else None
    return Viewer(principal, secret if from_cookie else None, from_cookie)


async def lookup(services: Services, secret: str) -> Principal | None:
    hit, principal = services.tokens.cached(secret)
    if not hit:
        principal = await run_in_threadpool(services.tokens.lookup, secret)
    return principal


def same_site(request: Request) -> str | None:
    """None when the request comes from this site; else why it is refused."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return f"a {fetch_site} request cannot write"
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if urlsplit(origin).netloc != host:
            return f"origin {origin} is not this site"
    return None


def csrf_problem(request: Request, who: Viewer, submitted: str | None) -> str | None:
    """None when a write may go ahead; else the one-line reason it may not."""
    if not who.can_write:
        return (
            f"token {who.principal.name!r} has {who.principal.scope} scope; a write token is needed"
        )
    if not who.from_cookie:  # a Bearer header is never sent by a browser on its own
        return None
    problem = same_site(request)
    if problem:
        return problem
    if not submitted or not hmac.compare_digest(submitted, who.csrf):
        return "the form's CSRF token is missing or wrong: reload the page and try again"
    return None


def safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, no `//`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def login_url(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(here, safe="")
