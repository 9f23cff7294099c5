"""The API over real HTTP: uvicorn in a background thread on 127.0.0.1, against a copy of the demo
database with its knowledge base embedded (``autocrm_test_kb``), talked to with httpx.

ONE database copy and ONE server for the whole session (procrastinate binds the module-level tasks
of ``api.tasks`` to one App at a time, the one built last, and a faster suite). Tests therefore make
their own rows with ``db`` (a superuser connection, autocommit) rather than relying on a pristine
database, and a test that needs another chat model swaps it on the running app
(``use_chat_model``).
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn

from autocrm.api.auth import mint_token
from autocrm.core.settings import Settings
from autocrm.db.connect import connect, drop_database
from autocrm.db.server import with_database

JWT_SECRET = "test-secret-that-is-long-enough-for-hs256!!"
SERVICE_KEY = "test-service-key"

# The demo org (db/seeds/initial_data.sql). Ticket 14 is Ethan's, routed to Integrations & API
# (team 03) and assigned to Kenji; Priya is on Technical Support (team 02) only.
ETHAN = "22222222-0000-4000-8000-000000000006"
OLIVIA = "22222222-0000-4000-8000-000000000001"
KENJI = "11111111-0000-4000-8000-000000000007"
PRIYA = "11111111-0000-4000-8000-000000000004"
MAYA = "11111111-0000-4000-8000-000000000001"
TEAM_INTEGRATIONS = "33333333-0000-4000-8000-000000000003"
T14 = "99999999-0000-4000-8000-000000000014"
T10 = "99999999-0000-4000-8000-000000000010"
PUBLIC_ARTICLE = "88888888-0000-4000-8000-000000000012"  # Reset your password
INTERNAL_ARTICLES = {
    "88888888-0000-4000-8000-000000000010",  # Internal: refund and credit approval policy
    "88888888-0000-4000-8000-000000000033",  # Internal: escalation playbook
    "88888888-0000-4000-8000-000000000034",  # Internal: known issues runbook
}
INTERNAL_ARTICLE = "88888888-0000-4000-8000-000000000033"

USERS = {
    "customer": ETHAN,
    "other_customer": OLIVIA,
    "agent": KENJI,
    "outsider": PRIYA,
    "admin": MAYA,
}
ROLES = ("anon", "customer", "other_customer", "agent", "outsider", "admin", "service")


def auth_headers(who: str) -> dict[str, str]:
    if who == "anon":
        return {}
    if who == "service":
        return {"Authorization": f"Bearer {SERVICE_KEY}"}
    user = USERS.get(who, who)  # a role name from USERS, or a raw user id
    return {"Authorization": f"Bearer {mint_token(secret=JWT_SECRET, user_id=user)}"}


class Api:
    """httpx against the live server; ``as_`` picks the caller (a ROLES name or a user id)."""

    def __init__(self, base_url: str, settings: Settings, app: Any):
        self.base_url = base_url
        self.settings = settings
        self.app = app  # the live FastAPI app (same process): tests may reach its resources
        self.http = httpx.Client(base_url=base_url, timeout=120)

    def request(
        self, method: str, path: str, *, as_: str = "anon", **kwargs: Any
    ) -> httpx.Response:
        headers = auth_headers(as_) | kwargs.pop("headers", {})
        return self.http.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)


class LiveServer:
    """uvicorn serving ``app`` from a background thread on a free 127.0.0.1 port.
    ``production``: with the options ``autocrm serve`` uses (autocrm.cli.api.uvicorn_config)."""

    def __init__(self, app: Any, *, production: bool = False):
        from autocrm.cli.api import uvicorn_config

        # IPPROTO_TCP, not 0: asyncio then turns Nagle off (else ~40 ms per response on loopback)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = (
            uvicorn_config(app, host="127.0.0.1", port=0, log_level="warning")
            if production
            else uvicorn.Config(
                app,
                log_level="warning",
                lifespan="on",
                timeout_graceful_shutdown=5,
                # The tests' clients keep connections open between tests: a server closing an idle
                # one just as a client reuses it is a connection reset, not a finding.
                timeout_keep_alive=600,
            )
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start (see the log above)")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()


def make_settings(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": url,
        "jwt_secret": JWT_SECRET,
        "service_key": SERVICE_KEY,
        "llm_base_url": "",
        "llm_model": "",
        "otlp_endpoint": "",
        "max_body_bytes": 1_000_000,
        # The test secrets are short and /metrics is scraped openly: development settings. Rate
        # limits are off (the suite's callers all share 127.0.0.1); tests that need them on, and
        # production settings, start their own server (tests/api/test_hardening_*.py).
        "dev_mode": True,
        "rate_limit_enabled": False,
    }
    return Settings(**(values | overrides))


def clone_kb_database(server_url: str) -> str:
    name = f"api_{uuid.uuid4().hex[:10]}"
    with connect(server_url, autocommit=True, vector=False) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "autocrm_test_kb"')
    return name


@pytest.fixture(scope="session")
def api_db(server_url: str, kb_db: str) -> Iterator[str]:
    """A committed-to copy of the demo org with its KB embedded, for the API tests."""
    name = clone_kb_database(server_url)
    yield with_database(server_url, name)
    drop_database(server_url=server_url, name=name)


@pytest.fixture(scope="session")
def api(api_db: str, real_embedder, tmp_path_factory) -> Iterator[Api]:
    """The app (extractive drafter, no LLM) served over HTTP."""
    from autocrm.api.app import create_app

    # Admin ingestion may read the tests' temporary directories only.
    settings = make_settings(api_db, ingest_roots=[tmp_path_factory.getbasetemp()])
    app = create_app(settings, embedder=real_embedder)
    with LiveServer(app) as live:
        client = Api(live.base_url, settings, app)
        yield client
        client.http.close()


@pytest.fixture
def use_chat_model(api):
    """``use_chat_model(model)``: the running app drafts with ``model`` until the test ends."""
    resources = api.app.state.resources
    saved = resources.chat_model

    def use(model) -> None:
        resources.chat_model = model

    yield use
    resources.chat_model = saved


@pytest.fixture
def db(api_db: str) -> Iterator[psycopg.Connection]:
    """A superuser connection (no RLS) to the API's database, for setup and checks."""
    with connect(api_db, autocommit=True) as conn:
        yield conn


COUNTED = ("tickets", "conversations", "kb_articles", "ai_responses", "ai_feedback", "users")


def row_counts(conn: psycopg.Connection) -> dict[str, int]:
    return {
        table: conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"]
        for table in COUNTED
    }


def make_ai_response(
    conn: psycopg.Connection,
    *,
    ticket_id: str,
    public: bool,
    kind: str = "suggestion",
    model: str = "test",
) -> str:
    """An AI response with its message: an internal draft, or a public reply (as the worker
    stores a sent auto-reply)."""
    response_id = conn.execute(
        "INSERT INTO ai_responses (ticket_id, kind, draft, model, prompt_version, decision, "
        "confidence) VALUES (%s, %s, 'Here is how to fix it.', %s, 'test_v1', %s, 0.9) "
        "RETURNING id",
        (ticket_id, kind, model, "sent" if public else "drafted"),
    ).fetchone()["id"]
    message_id = conn.execute(
        "INSERT INTO conversations (ticket_id, message_type, is_internal, body, metadata) "
        "VALUES (%s, 'ai', %s, 'Here is how to fix it.', jsonb_build_object('ai_response_id', %s::text)) "
        "RETURNING id",
        (ticket_id, not public, str(response_id)),
    ).fetchone()["id"]
    conn.execute("UPDATE ai_responses SET message_id = %s WHERE id = %s", (message_id, response_id))
    return str(response_id)


def collect(api: Api, path: str, *, as_: str, limit: int, cursor: str | None = None) -> list:
    """Every page of a list from ``cursor`` on, following next_cursor."""
    items = []
    while True:
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        page = api.get(path, as_=as_, params=params).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def queued_jobs(conn: psycopg.Connection, task: str) -> list[dict]:
    return conn.execute(
        "SELECT args, status::text AS status FROM procrastinate_jobs WHERE task_name = %s",
        (f"autocrm:{task}",),
    ).fetchall()


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status and body["title"] and "type" in body, body
    assert "Traceback" not in response.text
    return body
