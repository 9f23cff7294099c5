"""Hardening (issue 14) on a server started the way production starts it: not in dev mode, with
``autocrm serve``'s uvicorn options, no service key configured, rate limits on and a metrics token.
Over real HTTP, on the same database as the session's API (the second server is started on it for
this module only, then the job queue is handed back to the session's server)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from autocrm.api.auth import mint_token
from autocrm.core.settings import Settings
from tests.api.conftest import (
    ETHAN,
    JWT_SECRET,
    KENJI,
    MAYA,
    OLIVIA,
    PRIYA,
    T14,
    LiveServer,
    assert_problem,
)

METRICS_TOKEN = "metrics-token-0123456789-0123456789-abcdef"
LIMITS = {
    "rate_limit_search_per_min": 5,
    "rate_limit_tickets_per_min": 3,
    "rate_limit_suggestions_per_min": 2,
    "rate_limit_ip_per_min": 8,  # every test below uses an address of its own
    "rate_limit_delay_s": 0.3,
}
METRICS_REFRESH_S = 1.5


def production_settings(database_url: str, **overrides: Any) -> Settings:
    """What an operator would set: a strong JWT secret, nothing else security-related. The
    service key is left at its default (off)."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "jwt_secret": JWT_SECRET,
        "llm_base_url": "",
        "llm_model": "",
        "otlp_endpoint": "",
        "metrics_token": METRICS_TOKEN,
        "metrics_refresh_s": METRICS_REFRESH_S,
    }
    return Settings(**(values | LIMITS | overrides))


@pytest.fixture(scope="module")
def prod(api, real_embedder) -> Iterator[httpx.Client]:
    from autocrm.api.app import create_app
    from autocrm.api.tasks import build_queue

    # Same database, another URL string: its own job-queue App (closing it leaves the session's).
    url = api.settings.database_url
    url += ("&" if "?" in url else "?") + "application_name=autocrm-hardening"
    settings = production_settings(url)
    assert not settings.dev_mode and not settings.service_key.get_secret_value()
    app = create_app(settings, embedder=real_embedder)
    try:
        with (
            LiveServer(app, production=True) as live,
            httpx.Client(base_url=live.base_url) as client,
        ):
            yield client
    finally:
        build_queue(api.settings.database_url)  # the module's tasks queue through the session's


def bearer(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(secret=JWT_SECRET, user_id=user)}"}


# --- A: no default service key, tokens with aud and a bounded lifetime ------------------------------


def test_the_dev_service_key_is_refused_without_a_configured_key(prod):
    for headers in (
        {"Authorization": "Bearer dev-service-key"},
        {"apikey": "dev-service-key"},
        {"apikey": ""},
    ):
        assert_problem(prod.get("/tickets", headers=headers), 401)
    assert prod.get("/tickets", headers=bearer(ETHAN)).status_code == 200


def test_tokens_need_the_audience_and_a_bounded_lifetime(prod):
    import jwt

    now = int(time.time())
    base = {"sub": ETHAN, "role": "authenticated", "aud": "authenticated", "iat": now}

    def status(**claims: Any) -> int:
        payload = {k: v for k, v in (base | claims).items() if v is not None}
        token = jwt.encode(payload, JWT_SECRET, algorithm="HS256")
        return prod.get("/tickets", headers={"Authorization": f"Bearer {token}"}).status_code

    assert status(exp=now + 600) == 200
    assert status(exp=now + 100 * 365 * 86_400) == 401  # valid for a century
    assert status(exp=now + 2 * 86_400) == 401  # over the 1-day default
    assert status(exp=now + 600, aud=None) == 401  # no audience
    assert status(exp=now + 600, aud="service") == 401
    assert status(exp=now + 600, iat=None) == 401  # lifetime unknown
    assert status(exp=now + 100 * 365 * 86_400, iat=now + 99 * 365 * 86_400) == 401  # future iat


# --- D: rate limits ------------------------------------------------------------------------------


def test_anonymous_search_is_limited_per_client_ip(prod):
    client_a = {"X-Forwarded-For": "192.0.2.10"}  # uvicorn trusts it from 127.0.0.1 (the proxy)
    statuses = [
        prod.get("/kb/search", params={"q": "reset password"}, headers=client_a).status_code
        for _ in range(LIMITS["rate_limit_search_per_min"] + 1)
    ]
    assert statuses == [200] * LIMITS["rate_limit_search_per_min"] + [429], statuses
    started = time.monotonic()
    refused = prod.get("/kb/search", params={"q": "reset password"}, headers=client_a)
    assert time.monotonic() - started >= LIMITS["rate_limit_delay_s"]  # a flood is slowed down
    body = assert_problem(refused, 429)
    assert body["type"].endswith("rate-limited")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # Another client, and a signed-in customer behind the same address, have buckets of their own.
    client_b = {"X-Forwarded-For": "192.0.2.11"}
    assert prod.get("/kb/search", params={"q": "x"}, headers=client_b).status_code == 200
    as_ethan = client_a | bearer(ETHAN)
    assert prod.get("/kb/search", params={"q": "x"}, headers=as_ethan).status_code == 200


def test_many_accounts_behind_one_address_share_its_limit(prod):
    address = {"X-Forwarded-For": "192.0.2.30"}
    statuses = [
        prod.get("/kb/search", params={"q": "invoice"}, headers=address | bearer(user)).status_code
        for user in (ETHAN, OLIVIA, KENJI, MAYA, PRIYA)
        for _ in range(2)
    ]
    # Each account is far below its own search limit; the address reaches its 8 a minute.
    assert statuses == [200] * LIMITS["rate_limit_ip_per_min"] + [429, 429], statuses


def test_ticket_creation_is_limited_per_customer_and_a_refusal_stores_nothing(prod, db):
    count = "SELECT count(*) AS n FROM tickets WHERE customer_id = %s AND subject = 'Rate me'"
    headers = bearer(OLIVIA) | {"X-Forwarded-For": "192.0.2.20"}
    statuses = [
        prod.post("/tickets", json={"subject": "Rate me"}, headers=headers).status_code
        for _ in range(LIMITS["rate_limit_tickets_per_min"] + 2)
    ]
    assert statuses == [201] * 3 + [429] * 2, statuses
    assert db.execute(count, (OLIVIA,)).fetchone()["n"] == 3
    # Another customer from the same address is not affected.
    other = bearer(ETHAN) | {"X-Forwarded-For": "192.0.2.20"}
    assert prod.post("/tickets", json={"subject": "Rate me"}, headers=other).status_code == 201


def test_suggestions_are_limited_per_agent(prod):
    path = f"/tickets/{T14}/suggestions"
    statuses = [prod.post(path, headers=bearer(KENJI)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429], statuses
    assert prod.post(path, headers=bearer(MAYA)).status_code == 200


# --- E: no server banner, security headers, /metrics behind its token, cached DB gauges ---------


def test_no_server_banner_and_security_headers(prod):
    response = prod.get("/healthz")
    assert "server" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "strict-transport-security" not in response.headers  # plain http
    https = prod.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert https.headers["strict-transport-security"].startswith("max-age=")
    refused = prod.get("/tickets", headers={"Authorization": "Bearer dev-service-key"})
    assert "server" not in refused.headers and refused.headers["x-frame-options"] == "DENY"


def test_metrics_need_the_metrics_token(prod):
    assert_problem(prod.get("/metrics"), 401)
    assert_problem(prod.get("/metrics", headers={"Authorization": "Bearer wrong"}), 401)
    assert_problem(prod.get("/metrics", headers=bearer(MAYA)), 401)  # a user token is not it
    scraped = prod.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200 and "autocrm_http_requests_total" in scraped.text


def queue_depth(prod, queue: str) -> float | None:
    text = prod.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    prefix = f'autocrm_queue_depth{{queue="{queue}"}} '
    return next(
        (float(line[len(prefix) :]) for line in text.splitlines() if line.startswith(prefix)), None
    )


def test_a_scrape_does_not_query_the_database_each_time(prod, db):
    queue = "hardening-metrics"
    time.sleep(METRICS_REFRESH_S + 0.2)
    queue_depth(prod, queue)  # this scrape reads the database: the cache is fresh from here on
    try:
        db.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name) VALUES (%s, 'autocrm:noop')",
            (queue,),
        )
        # Within metrics_refresh_s the gauge is the cached one: the new job is not seen yet.
        assert queue_depth(prod, queue) is None
        time.sleep(METRICS_REFRESH_S + 0.2)
        assert queue_depth(prod, queue) == 1
    finally:
        db.execute("DELETE FROM procrastinate_jobs WHERE queue_name = %s", (queue,))


# --- B: admin ingestion is off until roots are configured ----------------------------------------


def test_admin_ingestion_is_disabled_without_ingest_roots(prod, tmp_path):
    (tmp_path / "notes.txt").write_text("Some notes.\n")
    refused = prod.post("/admin/ingestions", json={"source": str(tmp_path)}, headers=bearer(MAYA))
    body = assert_problem(refused, 403)
    assert "AUTOCRM_INGEST_ROOTS" in body["detail"] and body["type"].endswith("ingestion-disabled")
