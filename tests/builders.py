"""Test-data builders: ``make_x(conn, **overrides)`` inserts one row with sensible defaults."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg import sql


def _insert(conn: psycopg.Connection, table: str, row: dict[str, Any]) -> dict[str, Any]:
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING *").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, row)),
        sql.SQL(", ").join(sql.Placeholder() * len(row)),
    )
    return conn.execute(query, list(row.values())).fetchone()


def make_user(conn: psycopg.Connection, **overrides: Any) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    row = {"email": f"user-{tag}@example.test", "full_name": f"User {tag}", "role": "customer"}
    return _insert(conn, "users", row | overrides)


def make_team(
    conn: psycopg.Connection, *, members: list[dict] = (), **overrides: Any
) -> dict[str, Any]:
    team = _insert(conn, "teams", {"name": f"Team {uuid.uuid4().hex[:8]}"} | overrides)
    for member in members:
        _insert(conn, "team_members", {"team_id": team["id"], "user_id": member["id"]})
    return team


def make_ticket(conn: psycopg.Connection, **overrides: Any) -> dict[str, Any]:
    if "customer_id" not in overrides:
        overrides["customer_id"] = make_user(conn)["id"]
    row = {"subject": "Cannot export my data", "description": "The CSV export button does nothing."}
    return _insert(conn, "tickets", row | overrides)


def make_message(conn: psycopg.Connection, **overrides: Any) -> dict[str, Any]:
    row = {"message_type": "customer", "body": "Any update?"}
    return _insert(conn, "conversations", row | overrides)


def make_article(conn: psycopg.Connection, **overrides: Any) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    row = {
        "source": "test",
        "external_id": f"article-{tag}",
        "title": f"How to do thing {tag}",
        "body": "# Steps\n\n1. Open settings.\n2. Click the button.",
        "status": "published",
        "visibility": "public",
    }
    return _insert(conn, "kb_articles", row | overrides)


def embed_demo_kb(url: str, *, embedder) -> None:
    """Embed the seeded demo articles of the database at ``url`` (ingestion from the database)."""
    from autocrm.core.settings import ChunkingSettings
    from autocrm.db.connect import connect
    from autocrm.ingest.job import ingest

    with connect(url, autocommit=True) as conn:
        ingest(conn, source_path=None, from_db=True, embedder=embedder, chunking=ChunkingSettings())
