"""Sign-in and sign-out. In dev mode (the demo, tests) a page lists the demo users by role and
signs in as one; otherwise the host's JWT (Supabase-style, the same token the API takes) is
exchanged for the session cookie."""

from __future__ import annotations

import time
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from autocrm.api.auth import mint_token, session_caller
from autocrm.api.cookies import clear_session_cookie, require_csrf, set_session_cookie
from autocrm.api.deps import caller_transaction, get_resources, service_connection
from autocrm.api.errors import Unauthorized
from autocrm.api.web.pages import CallerPage, PageRoute, render

router = APIRouter(route_class=PageRoute)

DEV_SESSION_S = 8 * 3600
# Dev mode only: the demo's people, staff first, to sign in as one of them.
DEMO_USERS = """
SELECT id, full_name, email, role::text AS role, organization
  FROM public.users
 WHERE status = 'active'
 ORDER BY array_position(ARRAY['admin', 'agent', 'customer']::text[], role::text), full_name
 LIMIT 50
"""
HOME = {"admin": "/app/inbox", "agent": "/app/inbox", "customer": "/portal"}


def _local(path: str | None) -> str:
    """A same-site path to go back to (never an open redirect)."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/"


@router.get("/")
def home(request: Request, caller: CallerPage) -> Response:
    if caller.is_anon:
        return RedirectResponse("/signin", status_code=303)
    with caller_transaction(get_resources(request).pool, caller) as session:
        role = session.role
    return RedirectResponse(HOME.get(role, "/signin"), status_code=303)


@router.get("/signin")
def signin_page(request: Request, next: str | None = None, error: str | None = None) -> Response:
    users: list[dict] = []
    if request.app.state.settings.dev_mode:
        with service_connection(get_resources(request).pool) as conn:
            users = conn.execute(DEMO_USERS).fetchall()
    return render(request, "signin.html", {"users": users, "next": _local(next), "error": error})


def _signed_in(request: Request, token: str, *, max_age: int, next: str | None) -> Response:
    response = RedirectResponse(_local(next), status_code=303)
    set_session_cookie(request, response, token, max_age=max_age)
    return response


@router.post("/signin/dev")
async def signin_dev(
    request: Request,
    user_id: Annotated[UUID, Form()],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    settings = request.app.state.settings
    await require_csrf(request)
    if not settings.dev_mode:
        raise Unauthorized("demo sign-in is only available in dev mode")
    ttl = min(DEV_SESSION_S, settings.jwt_max_ttl_s)
    token = mint_token(
        secret=settings.jwt_secret.get_secret_value(),
        user_id=user_id,
        ttl_s=ttl,
        audience=settings.jwt_audience,
    )
    return _signed_in(request, token, max_age=ttl, next=next)


@router.post("/signin")
async def signin_token(
    request: Request,
    token: Annotated[str, Form(max_length=8192)],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    await require_csrf(request)
    token = token.strip()
    try:
        caller = session_caller(token, settings=request.app.state.settings)
    except Unauthorized as exc:
        return render(
            request,
            "signin.html",
            {"users": [], "next": _local(next), "error": exc.detail},
            status_code=401,
        )
    max_age = max(1, int(caller.claims["exp"] - time.time()))
    return _signed_in(request, token, max_age=max_age, next=next)


@router.post("/signout")
async def signout(request: Request) -> Response:
    await require_csrf(request)
    response = RedirectResponse("/signin", status_code=303)
    clear_session_cookie(response)
    return response
