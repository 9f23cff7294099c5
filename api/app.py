"""The FastAPI app: ``create_app(settings)``. The lifespan builds the connection pool, the embedder,
the chat model and the job queue once, and closes them on shutdown; routes borrow them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from autocrm.api import web
from autocrm.api.auth import check_deployment
from autocrm.api.deps import Resources
from autocrm.api.errors import install_handlers, problem_media_types
from autocrm.api.metrics import Metrics, MetricsGuard, MetricsMiddleware
from autocrm.api.middleware import BodyGuard, SecurityHeaders
from autocrm.api.ratelimit import RateLimitMiddleware
from autocrm.api.routes import admin, feedback, health, kb, messages, suggestions, tickets
from autocrm.api.tracing import setup_tracing
from autocrm.core.settings import Settings
from autocrm.pipeline.embedder import Embedder

log = logging.getLogger("autocrm.api")
POOL_MAX_SIZE = 20

DESCRIPTION = """The AI layer of a support CRM: tickets, suggested replies grounded in the knowledge
base, feedback on AI responses, KB search and authoring.

**Auth**: `Authorization: Bearer <JWT>` (HS256, Supabase-style claims; mint one with
`autocrm token --user <uuid>`), or the service key (`Authorization: Bearer <key>` or `apikey:`).
Without a token you are `anon` (KB search and public articles only). What you can see is decided
by the database's row-level security; rows you may not see answer 404.

**Errors** are `application/problem+json` (RFC 9457). **Lists** are cursor-paginated: pass the
`next_cursor` of a page as `cursor` to get the next one."""


def build_resources(settings: Settings, *, embedder: Embedder | None = None) -> Resources:
    """The shared resources (``pipeline.resources``), the model loaded now rather than on the
    first request, plus the open job queue."""
    from autocrm.api.tasks import build_queue
    from autocrm.pipeline import resources

    res = resources.build_resources(
        settings, embedder=embedder, max_size=POOL_MAX_SIZE, warm_up=True, cls=Resources
    )
    try:
        res.model_ready = True
        res.queue = build_queue(res.url).open()
    except BaseException:
        resources.close_resources(res)
        raise
    return res


def close_resources(res: Resources) -> None:
    from autocrm.pipeline import resources

    if res.queue is not None:
        res.queue.close()
    resources.close_resources(res)


def create_app(settings: Settings, *, embedder: Embedder | None = None) -> FastAPI:
    """The app for ``settings``. ``embedder``: an already-loaded one to reuse (tests, benchmarks).
    Raises ``InsecureDeployment`` for unsafe settings outside dev mode (default/short secrets)."""
    check_deployment(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        res = await run_in_threadpool(build_resources, settings, embedder=embedder)
        app.state.resources = res
        log.info("autocrm api ready")
        try:
            yield
        finally:
            await run_in_threadpool(close_resources, res)

    app = FastAPI(
        title="AutoCRM AI",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.metrics = Metrics(refresh_s=settings.metrics_refresh_s)
    install_handlers(app)
    modules = (health, tickets, messages, suggestions, feedback, kb, admin)
    for module in modules:
        app.include_router(module.router)
    web.install(app)
    routes = [route for module in modules for route in module.router.routes]
    app.add_middleware(BodyGuard, max_body_bytes=settings.max_body_bytes)
    # Outside the body guard: a refused request costs no body read and no database work.
    app.add_middleware(RateLimitMiddleware, settings=settings, routes=routes)
    app.add_middleware(
        MetricsGuard,
        token=settings.metrics_token.get_secret_value(),
        public=settings.metrics_public or settings.dev_mode,
    )
    # Added last = outermost: it also counts requests the guards above reject.
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics, routes=routes)
    # Around everything, Starlette's ServerErrorMiddleware included: its 500s get the headers too.
    build_stack = app.build_middleware_stack
    app.build_middleware_stack = lambda: SecurityHeaders(build_stack())  # type: ignore[method-assign]
    setup_tracing(app, endpoint=settings.otlp_endpoint)
    default_openapi = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = problem_media_types(default_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
