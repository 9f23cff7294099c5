"""Browser sessions: the signed-in user's JWT in an HttpOnly, SameSite cookie, and CSRF tokens.

A cookie-authenticated request is the same ``Caller`` as a Bearer one (the same per-request RLS
session); what a cookie adds is CSRF exposure, so every unsafe request that authenticates by cookie
must carry the CSRF token (``X-CSRF-Token`` header, or a ``csrf_token`` form field). The token is an
HMAC of a random per-browser value (the ``autocrm_csrf`` cookie) under the JWT secret: another site
can make the browser send the cookies but can read neither them nor the token (double submit,
signed). Bearer-token requests carry no ambient credentials and need no token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from fastapi.responses import Response

from autocrm.api.errors import Forbidden

SESSION_COOKIE = "autocrm_session"
CSRF_COOKIE = "autocrm_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def csrf_seed(request: Request) -> str:
    """This browser's random CSRF value: from its cookie, else a new one (set by ``set_cookies``)."""
    seed = request.cookies.get(CSRF_COOKIE)
    if not seed or len(seed) < 32:
        seed = getattr(request.state, "csrf_seed", None) or secrets.token_urlsafe(32)
        request.state.csrf_seed = seed
    return seed


def csrf_token(request: Request) -> str:
    secret = request.app.state.settings.jwt_secret.get_secret_value().encode()
    return hmac.new(secret, b"csrf:" + csrf_seed(request).encode(), hashlib.sha256).hexdigest()


async def require_csrf(request: Request) -> None:
    """403 unless an unsafe request carries this browser's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = (await request.form()).get(CSRF_FIELD)
    if (
        not request.cookies.get(CSRF_COOKIE)
        or not isinstance(sent, str)
        or not hmac.compare_digest(sent, csrf_token(request))
    ):
        raise Forbidden("missing or invalid CSRF token: reload the page and try again")


def set_csrf_cookie(request: Request, response: Response) -> None:
    """Give the browser its CSRF value if it has none yet (pages call this on every render)."""
    if request.cookies.get(CSRF_COOKIE) != csrf_seed(request):
        response.set_cookie(
            CSRF_COOKIE,
            csrf_seed(request),
            httponly=True,
            samesite="strict",
            secure=_secure(request),
            path="/",
        )


def set_session_cookie(request: Request, response: Response, token: str, *, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
