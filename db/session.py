"""Run a transaction as an API caller, so row-level security decides what it sees.

This is the Supabase/PostgREST contract: ``SET LOCAL ROLE`` to the caller's database role and the JWT
claims in ``request.jwt.claims`` for this transaction only. The pool's connections are never left in
that state: both settings are transaction-local.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import psycopg
from psycopg import sql

DbRole = Literal["anon", "authenticated", "service_role"]


def set_caller(conn: psycopg.Connection, *, role: DbRole, claims: dict[str, Any]) -> None:
    """Inside an open transaction: become ``role`` with ``claims`` until it ends."""
    conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
    conn.execute("SELECT set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))


@contextmanager
def acting_as(
    conn: psycopg.Connection, *, role: DbRole, claims: dict[str, Any]
) -> Iterator[psycopg.Connection]:
    """A transaction (or savepoint) run as the given caller."""
    with conn.transaction():
        set_caller(conn, role=role, claims=claims)
        yield conn
        # Nested in an outer transaction this block is a savepoint, and SET LOCAL would outlive it.
        conn.execute("SET LOCAL ROLE NONE")
        conn.execute("SELECT set_config('request.jwt.claims', '', true)")


def user_claims(user_id: str, *, app_role: str | None = None) -> dict[str, Any]:
    claims: dict[str, Any] = {"sub": str(user_id), "role": "authenticated"}
    if app_role:
        claims["app_metadata"] = {"role": app_role}
    return claims
