"""Abuse limits: per-caller and per-client-IP token buckets on the expensive endpoints, answered
with 429, ``Retry-After`` and a problem+json body before any database or model work.

A refused request is answered after ``rate_limit_delay_s`` (or Retry-After, if sooner). Measured
with 20 clients flooding /kb/search on 2 cores (scripts/bench_ratelimit.py, two runs each):
answering at once, the flood of cheap 429s (~45,000 in 5 rounds) took the CPU and a customer's
GET /tickets p95 went to 17-31x its idle value (4-14 ms → 126-236 ms); answered after 1 s, it
stayed at 0.95-1.1x (4.9 ms against 4.4 idle). Without limits: 19-29x.

Limited (``limits(settings)``): anonymous and user KB search, ticket creation and suggested
replies. A request is charged to its caller's bucket for the endpoint (a user's id from the token;
anonymous callers: their IP) and to the IP's bucket for all of them together, so many accounts
behind one address are limited too. The service key (server-to-server integrations) is exempt.
The client IP is uvicorn's, which honours X-Forwarded-For from ``--forwarded-allow-ips`` only.

Why our own ~60 lines rather than a library: ``limits`` (5.x, installable here) fits an in-process
app, but its in-memory storage is per process exactly like this one, and a new runtime dependency
would buy nothing a token bucket does not do (burst, steady rate, an exact Retry-After). Several
API processes each enforce the limits on their own share; a shared store (Redis) would be the
step after that, and then ``limits`` with its Redis storage is the one to take.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from autocrm.api.auth import caller_from_headers
from autocrm.api.errors import ApiError, problem
from autocrm.api.metrics import route_template
from autocrm.core.settings import Settings

MAX_KEYS = 100_000  # buckets kept (least recently used dropped): memory stays bounded


@dataclass(frozen=True)
class Limit:
    """``per_min`` requests a minute, in bursts of up to ``per_min``."""

    name: str
    per_min: int

    @property
    def rate_per_s(self) -> float:
        return self.per_min / 60.0


def limits(settings: Settings) -> dict[tuple[str, str], Limit]:
    """(method, route template) → the per-caller limit of that endpoint."""
    return {
        ("GET", "/kb/search"): Limit("search", settings.rate_limit_search_per_min),
        ("POST", "/tickets"): Limit("tickets", settings.rate_limit_tickets_per_min),
        ("POST", "/tickets/{ticket_id}/suggestions"): Limit(
            "suggestions", settings.rate_limit_suggestions_per_min
        ),
    }


class RateLimited(ApiError):
    status, slug = 429, "rate-limited"

    def __init__(self, retry_after_s: float):
        seconds = max(1, math.ceil(retry_after_s))
        super().__init__(
            f"too many requests: try again in {seconds} s", headers={"Retry-After": str(seconds)}
        )


class TokenBuckets:
    """Buckets by key. Not thread-safe on purpose: the middleware calls it from the event loop
    only (one thread), between awaits."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, max_keys: int = MAX_KEYS):
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key: (tokens, at)

    def take(self, charges: Sequence[tuple[str, Limit]]) -> float:
        """Take one token from each bucket if ALL have one (then 0.0); else take none and return
        the seconds until they would."""
        now = self.clock()
        levels = [(key, limit, self._level(key, limit, now)) for key, limit in charges]
        wait = max(
            ((1 - level) / limit.rate_per_s for _, limit, level in levels if level < 1), default=0.0
        )
        if wait > 0:
            return wait
        for key, _, level in levels:
            self._buckets[key] = (level - 1, now)
            self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return 0.0

    def _level(self, key: str, limit: Limit, now: float) -> float:
        tokens, at = self._buckets.get(key, (float(limit.per_min), now))
        return min(float(limit.per_min), tokens + (now - at) * limit.rate_per_s)


class RateLimitMiddleware:
    """Pure ASGI, outside the body guard: a refused request costs no body read, no database."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        routes: Sequence[BaseRoute],
        buckets: TokenBuckets | None = None,
    ):
        self.app = app
        self.settings = settings
        self.routes = routes
        self.limits = limits(settings)
        self.methods = {method for method, _ in self.limits}
        self.per_ip = Limit("ip", settings.rate_limit_ip_per_min)
        self.buckets = buckets or TokenBuckets()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.settings.rate_limit_enabled:
            await self.app(scope, receive, send)
            return
        limit = None
        if scope["method"] in self.methods:  # skip route matching for the rest
            limit = self.limits.get((scope["method"], route_template(self.routes, scope)))
        charges = self._charges(scope, limit) if limit else []
        wait = self.buckets.take(charges) if charges else 0.0
        if wait > 0:
            # Answer late: a client that ignores Retry-After and retries at once (a flood) is held
            # to one request per delay per connection, so refusing it stays cheap. The event loop
            # is free meanwhile; nothing is read or queried.
            await asyncio.sleep(min(wait, self.settings.rate_limit_delay_s))
            refused = RateLimited(wait)
            response = problem(
                refused.status, refused.detail, slug=refused.slug, headers=refused.headers
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _charges(self, scope: Scope, limit: Limit) -> list[tuple[str, Limit]]:
        ip = (scope.get("client") or ("unknown", 0))[0]
        headers = Headers(scope=scope)
        try:
            caller = caller_from_headers(
                headers.get("authorization"), headers.get("apikey"), settings=self.settings
            )
        except ApiError:
            caller = None  # a bad token: the route answers 401; meanwhile it counts as its IP
        if caller is not None and caller.db_role == "service_role":
            return []
        who = f"user:{caller.user_id}" if caller is not None and caller.user_id else f"ip:{ip}"
        return [(f"{limit.name}:{who}", limit), (f"ip:{ip}", self.per_ip)]
