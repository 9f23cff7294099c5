"""Prometheus metrics: requests and latency by route template and status, AI decisions, queue depth.

Each app has its own registry (several apps in one process, as in tests, never collide).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from psycopg_pool import ConnectionPool
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("autocrm.api")

QUEUE_DEPTH = """
SELECT queue_name, count(*) AS n FROM procrastinate_jobs WHERE status = 'todo' GROUP BY queue_name
"""
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    def __init__(self) -> None:
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
        try:
            with pool.connection(timeout=2) as conn:
                rows = conn.execute(QUEUE_DEPTH).fetchall()
        except Exception as exc:  # a scrape must not fail because the database is down
            log.warning("queue depth unavailable: %s", exc)
            return
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
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            labels = (scope["method"], route_template(self.routes, scope), str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(time.perf_counter() - started)
