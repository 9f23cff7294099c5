"""Shared dependencies: the resources built by the lifespan, and the per-request database session.

Every request's database work is ONE transaction run as the caller (``SET LOCAL ROLE`` +
``request.jwt.claims``, via ``db.session.set_caller``), so row-level security decides what it sees.
The session commits before the response is sent (``scope="function"``), then runs the request's
after-commit actions (queueing jobs), so a job never sees uncommitted rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Literal
from uuid import UUID

import procrastinate
import psycopg
from fastapi import Depends, Request
from psycopg_pool import ConnectionPool

from autocrm.api.auth import Caller, get_caller
from autocrm.api.errors import Forbidden, Unauthorized
from autocrm.db.session import set_caller
from autocrm.pipeline.resources import Resources as SharedResources
from autocrm.pipeline.resources import autocommit_connection

log = logging.getLogger("autocrm.api")

Role = Literal["anon", "customer", "agent", "admin", "service", "unknown"]
USERS: frozenset[Role] = frozenset({"customer", "agent", "admin", "service"})
STAFF: frozenset[Role] = frozenset({"agent", "admin", "service"})
ADMINS: frozenset[Role] = frozenset({"admin", "service"})

STATEMENT_TIMEOUT_MS = 15_000
# One round trip: a statement timeout for this transaction, and the caller's role as the DB sees it
# (users.role of an active user; NULL for an unknown or disabled one).
BEGIN_REQUEST = """
SELECT set_config('statement_timeout', %s, true), public.app_role()::text AS app_role
"""


@dataclass
class Resources(SharedResources):
    """The shared resources (``pipeline.resources``) plus the API's job queue. Built once by the
    lifespan (``api.app.build_resources``); closed on shutdown."""

    queue: procrastinate.App | None = None
    model_ready: bool = False


@dataclass
class Session:
    """A request's transaction, its caller and the caller's effective role."""

    conn: psycopg.Connection
    caller: Caller
    role: Role
    after_commit: list[Callable[[], object]] = field(default_factory=list)

    @property
    def user_id(self) -> UUID | None:
        return self.caller.user_id

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF


def get_resources(request: Request) -> Resources:
    return request.app.state.resources


@contextmanager
def caller_transaction(pool: ConnectionPool, caller: Caller) -> Iterator[Session]:
    """A transaction as ``caller``; commits on a clean exit, rolls back on an exception."""
    with pool.connection() as conn, conn.transaction():
        set_caller(conn, role=caller.db_role, claims=caller.claims)
        app_role = conn.execute(BEGIN_REQUEST, (f"{STATEMENT_TIMEOUT_MS}ms",)).fetchone()[
            "app_role"
        ]
        yield Session(conn=conn, caller=caller, role=_role(caller, app_role))


@contextmanager
def service_connection(pool: ConnectionPool) -> Iterator[psycopg.Connection]:
    """The pool's own login (what the worker uses), autocommit: for the answer pipeline and
    ingestion, which manage their own transactions. Callers check visibility BEFORE using it."""
    with autocommit_connection(pool) as conn:
        yield conn


def _role(caller: Caller, app_role: str | None) -> Role:
    if caller.db_role == "service_role":
        return "service"
    if caller.db_role == "anon":
        return "anon"
    return app_role if app_role in ("customer", "agent", "admin") else "unknown"  # type: ignore[return-value]


def authorize(session: Session, roles: frozenset[Role] | None) -> None:
    """403 unless the caller's role (as the database sees it) is one of ``roles``."""
    if roles is None or session.role in roles:
        return
    if session.role == "unknown":
        raise Forbidden("this token's user does not exist or is disabled")
    raise Forbidden(f"a caller with role {session.role!r} may not do this")


class DbSession:
    """Dependency: a ``Session`` for a caller whose role is in ``roles`` (None: anyone, anon too).

    401 for anon where a user is needed (before any database work), 403 for a caller whose role
    may not use the endpoint (including a valid token of an unknown or disabled user).
    """

    def __init__(self, roles: frozenset[Role] | None = None):
        self.roles = roles

    def __call__(
        self, request: Request, caller: Annotated[Caller, Depends(get_caller)]
    ) -> Iterator[Session]:
        if self.roles is not None and caller.is_anon:
            raise Unauthorized()
        with caller_transaction(get_resources(request).pool, caller) as session:
            authorize(session, self.roles)
            yield session
        for action in session.after_commit:
            try:
                action()
            except Exception:
                # The rows are committed; the sweeper re-queues a new ticket whose job was lost.
                log.exception("after-commit action failed")


AnyCaller = Annotated[Session, Depends(DbSession(), scope="function")]
UserSession = Annotated[Session, Depends(DbSession(USERS), scope="function")]
StaffSession = Annotated[Session, Depends(DbSession(STAFF), scope="function")]
AdminSession = Annotated[Session, Depends(DbSession(ADMINS), scope="function")]
ResourcesDep = Annotated[Resources, Depends(get_resources)]
CallerDep = Annotated[Caller, Depends(get_caller)]
