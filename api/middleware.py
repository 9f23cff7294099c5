"""Request-body guard (pure ASGI, outermost after error handling): size and JSON nesting limits;
and the security headers every response carries (``SecurityHeaders``).

The body is read here, counted as it arrives (so a chunked upload cannot dodge the limit by
omitting Content-Length), and replayed to the app. Rejections are problem+json, sent before any
route or database work runs, so nothing is stored partially.
"""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from autocrm.api.errors import problem

MAX_JSON_DEPTH = 32
DRAIN_LIMIT = 64 * 1024 * 1024
# Escape pairs, quotes and brackets; everything else is skipped by the regex engine. Each byte is
# looked at once (no backtracking), so a hostile body cannot make the scan quadratic.
_JSON_TOKENS = re.compile(rb'\\.|["\[\]{}]', re.DOTALL)


def json_depth(body: bytes, *, stop_after: int | None = None) -> int:
    """The deepest nesting of arrays/objects (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = False
    for match in _JSON_TOKENS.finditer(body):
        token = match.group()
        if token == b'"':
            in_string = not in_string
        elif in_string or len(token) == 2:
            continue
        elif token in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_after is not None and deepest > stop_after:
                    break
        else:
            depth -= 1
    return deepest


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return True  # FastAPI parses a body without a content type as JSON
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class BodyGuard:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_json_depth: int = MAX_JSON_DEPTH):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth
        self.drain_limit = max(DRAIN_LIMIT, 4 * max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None and not declared.strip().isdigit():
            await problem(400, "invalid Content-Length header")(scope, receive, send)
            return
        if declared is not None and int(declared) > self.max_body_bytes:
            await self._too_large(scope, receive, send, read=0)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            more = message.get("more_body", False)
            if size > self.max_body_bytes:
                await self._too_large(scope, receive, send, read=size, more=more)
                return
            chunks.append(chunk)
        body = b"".join(chunks)
        json_body = body and _is_json(headers.get("content-type"))
        if json_body and await _scan(body, self.max_json_depth) > self.max_json_depth:
            detail = f"JSON nested more than {self.max_json_depth} levels deep"
            await problem(422, detail, slug="json-too-deep")(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _too_large(
        self, scope: Scope, receive: Receive, send: Send, *, read: int, more: bool = True
    ) -> None:
        # Read (and drop) the rest before answering: a client still sending would otherwise see
        # the connection reset instead of the 413. Past DRAIN_LIMIT, answer and close.
        while more and read <= self.drain_limit:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            read += len(message.get("body", b""))
            more = message.get("more_body", False)
        detail = f"request body larger than {self.max_body_bytes} bytes"
        headers = {"Connection": "close"} if more else None
        await problem(413, detail, slug="body-too-large", headers=headers)(scope, receive, send)


async def _scan(body: bytes, limit: int) -> int:
    if len(body) < 65_536:
        return json_depth(body, stop_after=limit)
    return await run_in_threadpool(json_depth, body, stop_after=limit)  # keep the loop free


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # http.disconnect, for streaming responses

    return replay


# A JSON API: nothing may load, frame or submit anything. The Swagger UI page needs its CDN
# assets and inline bootstrap script (FastAPI's get_swagger_ui_html); it gets just those.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src https://cdn.jsdelivr.net; img-src https://fastapi.tiangolo.com data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect")
# The web pages (api/web): their own scripts, styles and forms only; nothing from elsewhere.
WEB_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
WEB_PREFIXES = ("/app/", "/portal", "/signin", "/signout", "/static/")


def content_security_policy(path: str) -> str:
    if path in DOCS_PATHS:
        return DOCS_CSP
    if path == "/" or path.startswith(WEB_PREFIXES):
        return WEB_CSP
    return API_CSP


HSTS = "max-age=31536000; includeSubDomains"
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeaders:
    """Security headers on every response, errors included (pure ASGI). Wrapped around the whole
    app (outside Starlette's ServerErrorMiddleware), so a 500 carries them too. A header the
    response already has is left alone. HSTS only over https (as the proxy reports it)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = content_security_policy(scope["path"])
        extra = [*SECURITY_HEADERS, (b"content-security-policy", csp.encode())]
        if scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", HSTS.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
