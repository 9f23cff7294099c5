"""What every page needs: the signed-in caller's RLS session, rendering, and error pages.

``PageSession(roles)`` is the page counterpart of ``api.deps.DbSession``: the same caller (from
the session cookie), the same transaction and role check; a caller who is not signed in is sent to
``/signin``, and an error becomes an HTML page (404 for what the caller may not see; never a
traceback). Page routers use ``route_class=PageRoute``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from markupsafe import Markup

from autocrm.api.auth import ANON, Caller, get_caller
from autocrm.api.cookies import csrf_token, set_csrf_cookie
from autocrm.api.deps import (
    ADMINS,
    STAFF,
    USERS,
    Role,
    Session,
    authorize,
    caller_transaction,
    get_resources,
)
from autocrm.api.errors import describe
from autocrm.core.errors import NotFound

log = logging.getLogger("autocrm.web")

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")  # autoescapes HTML
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render_markdown(text: str) -> Markup:
    """Markdown (articles, AI and agent replies) as HTML: raw HTML in the source is escaped (shown
    as text), and links with a javascript:/vbscript:/file:/data: URL are not made (markdown-it's
    validateLink). Customers' own messages are shown as plain text, never through this."""
    return Markup(_MARKDOWN.render(text or ""))  # noqa: S704 - markdown-it escapes; html is off


TEMPLATES.env.filters["markdown"] = render_markdown


class SignInRequired(Exception):
    """No (valid) session: the page redirects to /signin and comes back after."""


def nav_links(role: str) -> list[tuple[str, str]]:
    """(label, path) of the sections this role uses; the database still decides what each shows."""
    if role in STAFF:
        links = [("Inbox", "/app/inbox"), ("Knowledge base", "/app/kb")]
        if role in ADMINS:
            links += [("AI insights", "/app/insights"), ("Evals", "/app/evals")]
        return links
    if role == "customer":
        return [("My tickets", "/portal"), ("New ticket", "/portal/new")]
    return []


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    session: Session | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page from ``templates/``; the base layout gets the user, the nav and the CSRF token."""
    role = session.role if session else getattr(request.state, "role", "anon")
    ctx = {
        "request": request,
        "csrf_token": csrf_token(request),
        "role": role,
        "nav": nav_links(role),
        "user_name": getattr(request.state, "user_name", None),
        "dev_mode": request.app.state.settings.dev_mode,
    } | (context or {})
    response = TEMPLATES.TemplateResponse(request, template, ctx, status_code=status_code)
    set_csrf_cookie(request, response)
    return response


def error_page(request: Request, exc: Exception) -> Response:
    if isinstance(exc, SignInRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?next={quote(target)}", status_code=303)
    if isinstance(exc, RequestValidationError):
        errors = exc.errors()
        where = ".".join(str(p) for p in errors[0]["loc"][1:]) if errors else "form"
        status, detail = 422, f"{where}: {errors[0]['msg']}" if errors else "invalid form"
    else:
        status, _, detail, _ = describe(exc)
    if status == 403 and "CSRF" not in (detail or ""):
        status, detail = 404, "There is nothing here you can see."  # what the caller may not see
    if status == 401:
        return RedirectResponse("/signin", status_code=303)
    return render(
        request,
        "error.html",
        {
            "status": status,
            "detail": detail if status < 500 else "Something went wrong on our side.",
        },
        status_code=status,
    )


class PageRoute(APIRoute):
    """Routes that answer with HTML: an exception becomes an error page, not problem+json."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # every error becomes a page; describe() logs the 500s
                return error_page(request, exc)

        return page_handler


async def page_caller(request: Request) -> Caller:
    """The cookie's caller; no (or an expired) session is anon. Headers are not pages' business."""
    from autocrm.api.cookies import SESSION_COOKIE

    if not request.cookies.get(SESSION_COOKIE):
        return ANON
    try:
        return await get_caller(request)
    except Exception as exc:
        if "CSRF" in str(exc):
            raise
        return ANON


class PageSession:
    """Dependency: the caller's RLS transaction for a page; ``roles`` None = anyone signed in."""

    def __init__(self, roles: frozenset[Role] | None = None):
        self.roles = roles

    def __call__(
        self, request: Request, caller: Annotated[Caller, Depends(page_caller)]
    ) -> Iterator[Session]:
        if caller.is_anon:
            raise SignInRequired()
        with caller_transaction(get_resources(request).pool, caller) as session:
            authorize(session, self.roles)
            row = session.conn.execute(
                "SELECT full_name FROM public.users WHERE id = %s", (caller.user_id,)
            ).fetchone()
            request.state.user_name = row["full_name"] if row else None
            request.state.role = session.role  # for an error page rendered after this
            yield session
        for action in session.after_commit:  # as api.deps.DbSession: queue jobs once committed
            try:
                action()
            except Exception:
                log.exception("after-commit action failed")


StaffPage = Annotated[Session, Depends(PageSession(STAFF), scope="function")]
AdminPage = Annotated[Session, Depends(PageSession(ADMINS), scope="function")]
UserPage = Annotated[Session, Depends(PageSession(USERS), scope="function")]
CallerPage = Annotated[Caller, Depends(page_caller)]


fallback = APIRouter(route_class=PageRoute)


@fallback.api_route("/app/{rest:path}", methods=["GET", "POST"])
@fallback.api_route("/portal/{rest:path}", methods=["GET", "POST"])
def not_a_page(request: Request, rest: str, session: UserPage) -> Response:
    raise NotFound(f"no page at {request.url.path}")
