"""Prometheus metrics: requests and latency by route template and status, AI decisions, queue depth.

Each app has its own registry (several apps in one process, as in tests, never collide).

A scrape never costs a database query per request: the queue-depth gauge is re-read at most every
``metrics_refresh_s`` (one scraper refreshes, concurrent ones serve the last value). ``/metrics``
is served only with the ``metrics_token`` bearer token, or openly when ``metrics_public`` or dev
mode says so; otherwise it does not exist (404). A request whose client went away before any
response was sent is counted as status 499 (client closed request), not as a server error.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from psycopg_pool import ConnectionPool
from starlette.datastructures import Headers
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from autocrm.api.errors import problem

log = logging.getLogger("autocrm.api")

QUEUE_DEPTH = """
SELECT queue_name, count(*) AS n FROM procrastinate_jobs WHERE status = 'todo' GROUP BY queue_name
"""
CLIENT_CLOSED = 499  # nginx's "client closed request": not a server error
METRICS_PATH = "/metrics"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    def __init__(self, *, refresh_s: float = 5.0) -> None:
        self.refresh_s = refresh_s
        self._refreshed_at: float | None = None
        self._refreshing = threading.Lock()
        self.registry = CollectorRegistry()
        labels = ["method", "route", "status"]
        self.requests = Counter(
            "autocrm_http_requests", "HTTP requests handled", labels, registry=self.registry
        )
        self.latency = Histogram(
            "autocrm_http_request_duration_seconds",
            "HTTP request latency, until the last byte of the response",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.ai_decisions = Counter(
            "autocrm_ai_decisions",
            "AI responses produced through the API, by kind and decision",
            ["kind", "decision"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "autocrm_queue_depth",
            "jobs waiting in the queue (procrastinate status 'todo')",
            ["queue"],
            registry=self.registry,
        )

    def render(self, pool: ConnectionPool | None) -> bytes:
        if pool is not None:
            self._refresh_queue_depth(pool)
        return generate_latest(self.registry)

    def _refresh_queue_depth(self, pool: ConnectionPool) -> None:
        now = time.monotonic()
        if self._refreshed_at is not None and now - self._refreshed_at < self.refresh_s:
            return
        if not self._refreshing.acquire(blocking=False):
            return  # another scrape is reading it: serve the last value
        try:
            self._refreshed_at = now  # also after a failure: a down database is not hammered
            with pool.connection(timeout=2) as conn:
                rows = conn.execute(QUEUE_DEPTH).fetchall()
        except Exception as exc:  # a scrape must not fail because the database is down
            log.warning("queue depth unavailable: %s", exc)
            return
        finally:
            self._refreshing.release()
        self.queue_depth.clear()
        for row in rows:
            self.queue_depth.labels(queue=row["queue_name"]).set(row["n"])


def route_template(routes: Sequence[BaseRoute], scope: Scope) -> str:
    """The matched route's path template (bounded label values). Requests rejected before
    routing (by the body guard) are matched here against the app's own routes."""
    route = scope.get("route")
    if route is None:
        route = next((r for r in routes if r.matches(scope)[0] != Match.NONE), None)
    return getattr(route, "path", None) or "unmatched"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, routes: Sequence[BaseRoute]):
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None
        disconnected = False

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        async def receive_watching() -> Message:
            nonlocal disconnected
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected = True
            return message

        try:
            await self.app(scope, receive_watching, send_status)
        finally:
            if status is None:
                # Nothing was sent: the client went away first (499), or the app failed to answer.
                status = CLIENT_CLOSED if disconnected else 500
            labels = (scope["method"], route_template(self.routes, scope), str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(time.perf_counter() - started)


class MetricsGuard:
    """``/metrics`` only for its scraper: with ``token`` set, ``Authorization: Bearer <token>``
    (401 otherwise); else open when ``public``; else 404, as if there were no such endpoint."""

    def __init__(self, app: ASGIApp, *, token: str, public: bool):
        self.app = app
        self.token = token
        self.public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != METRICS_PATH or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        if self.token:
            response = problem(
                401,
                "/metrics needs the metrics token (Authorization: Bearer <AUTOCRM_METRICS_TOKEN>)",
                slug="unauthorized",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        else:
            response = problem(404, "Not Found")
        await response(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        if not self.token:
            return self.public
        scheme, _, given = (Headers(scope=scope).get("authorization") or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), self.token.encode()
        )
