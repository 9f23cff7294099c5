"""The long-lived resources every entry point needs: a connection pool, the embedder and the chat
model. Built once by the API's lifespan, the worker entry and the CLI (``build_resources`` /
``open_resources``), passed down explicitly, closed on the way out. Nothing here is a global.

The API adds its job queue to these (``api.deps.Resources``); the worker hands them to its tasks
through procrastinate's job context (``api.tasks.job_resources``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import psycopg
from psycopg_pool import ConnectionPool

from autocrm.core.settings import Settings
from autocrm.db.connect import make_pool, resolve_url
from autocrm.pipeline.chat import ChatModel, build_chat_model
from autocrm.pipeline.embedder import Embedder, build_embedder
from autocrm.pipeline.towns import in_great_britain

WARM_UP_TEXT = "warm-up"


@dataclass
class Resources:
    """Settings, pool, embedder and chat model (None: the offline extractive drafter)."""

    settings: Settings
    url: str  # the application database the pool connects to
    pool: ConnectionPool
    embedder: Embedder
    chat_model: ChatModel | None

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection in autocommit (see ``autocommit_connection``)."""
        with autocommit_connection(self.pool) as conn:
            yield conn


@contextmanager
def autocommit_connection(pool: ConnectionPool) -> Iterator[psycopg.Connection]:
    """A pooled connection in autocommit: for the answer pipeline, ingestion and the worker's
    tasks, which commit their own transactions. Given back to the pool in its default mode (a
    request's transaction may borrow it next)."""
    with pool.connection() as conn:
        conn.autocommit = True
        try:
            yield conn
        finally:
            conn.autocommit = False


R = TypeVar("R", bound=Resources)


def build_models(
    settings: Settings, *, embedder: Embedder | None = None
) -> tuple[Embedder, ChatModel | None]:
    """The embedder (unless an already-loaded one is given) and the chat model (None: the offline
    drafter): what every entry point (API, worker, CLI commands) answers with."""
    return embedder or build_embedder(settings), build_chat_model(settings)


def build_resources(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    min_size: int = 2,
    max_size: int = 10,
    warm_up: bool = False,
    cls: type[R] = Resources,  # type: ignore[assignment]
) -> R:
    """Open the pool, then build the embedder (unless an already-loaded ``embedder`` is given) and
    the chat model. ``warm_up``: embed one text and load the drafter's gazetteer now, so that both
    are loaded before the first request rather than during it. ``cls``: a subclass whose extra fields have defaults (the API's
    adds its queue). The pool is closed again if anything after it fails."""
    url = resolve_url(settings)
    pool = make_pool(url, min_size=min_size, max_size=max_size)
    try:
        embedder, chat_model = build_models(settings, embedder=embedder)
        res = cls(settings=settings, url=url, pool=pool, embedder=embedder, chat_model=chat_model)
        if warm_up:
            res.embedder.embed([WARM_UP_TEXT])
            in_great_britain()  # the drafter's gazetteer (a third of a second to load)
    except BaseException:
        pool.close()
        raise
    return res


def close_resources(res: Resources) -> None:
    res.pool.close()


@contextmanager
def open_resources(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    min_size: int = 2,
    max_size: int = 10,
    warm_up: bool = False,
) -> Iterator[Resources]:
    """``build_resources`` as a context manager: closed on exit."""
    res = build_resources(
        settings, embedder=embedder, min_size=min_size, max_size=max_size, warm_up=warm_up
    )
    try:
        yield res
    finally:
        close_resources(res)
