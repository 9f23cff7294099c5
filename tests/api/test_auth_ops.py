"""Authentication edge cases, the error format, and the operational endpoints (health, readiness,
metrics, OpenAPI), plus start-up configuration and the dev-token command."""

from __future__ import annotations

import time

import jwt
import pytest
import typer
from typer.testing import CliRunner

from tests.api.conftest import (
    ETHAN,
    JWT_SECRET,
    SERVICE_KEY,
    assert_problem,
    make_settings,
)
from tests.builders import make_user


def token(secret: str = JWT_SECRET, **claims) -> str:
    now = int(time.time())
    payload = {
        "sub": ETHAN,
        "role": "authenticated",
        "aud": "authenticated",
        "iat": now,
        "exp": now + 600,
    } | claims
    return jwt.encode(
        {k: v for k, v in payload.items() if v is not None}, secret, algorithm="HS256"
    )


BAD_AUTH = {
    # An hour past: well beyond the 30 s leeway, whenever in the session the test runs.
    "expired": f"Bearer {token(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)}",
    "forged": f"Bearer {token(secret='another-secret-another-secret-another!!')}",
    "alg none": "Bearer "
    + jwt.encode({"sub": ETHAN, "exp": int(time.time()) + 60}, None, algorithm="none"),
    "no exp": f"Bearer {token(exp=None)}",
    "no sub": f"Bearer {token(sub=None)}",
    "sub not a uuid": f"Bearer {token(sub='ethan')}",
    "service_role claim": f"Bearer {token(role='service_role')}",
    "wrong audience": f"Bearer {token(aud='something-else')}",
    "garbage": "Bearer not.a.jwt",
    "empty bearer": "Bearer",
    "basic scheme": "Basic dXNlcjpwYXNz",
}


@pytest.mark.parametrize("header", BAD_AUTH.values(), ids=BAD_AUTH.keys())
def test_bad_credentials_are_401(api, header):
    response = api.http.get("/tickets", headers={"Authorization": header})
    body = assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert body["type"].endswith("unauthorized")


def test_bad_credentials_are_401_even_where_anon_is_allowed(api):
    assert_problem(
        api.http.get("/kb/search?q=x", headers={"Authorization": BAD_AUTH["forged"]}), 401
    )


def test_supabase_style_token_with_audience_is_accepted(api):
    response = api.http.get(
        "/tickets", headers={"Authorization": f"Bearer {token(aud='authenticated')}"}
    )
    assert response.status_code == 200


def test_the_role_claim_grants_nothing(api):
    """Ethan's token claiming admin in app_metadata is still a customer: the DB decides."""
    forged_role = token(app_metadata={"role": "admin"})
    headers = {"Authorization": f"Bearer {forged_role}"}
    assert_problem(api.http.get("/admin/ingestions", headers=headers), 403)
    tickets = api.http.get("/tickets", headers=headers, params={"limit": 100}).json()["items"]
    assert tickets and {t["customer_id"] for t in tickets} == {ETHAN}


def test_service_key_in_apikey_header(api, db):
    all_tickets = db.execute("SELECT count(*) AS n FROM tickets").fetchone()["n"]
    response = api.http.get("/tickets", headers={"apikey": SERVICE_KEY}, params={"limit": 100})
    assert len(response.json()["items"]) == min(all_tickets, 100)
    assert_problem(api.http.get("/tickets", headers={"apikey": "wrong-key"}), 401)
    # A user JWT in apikey (Supabase clients send one there) works too.
    assert api.http.get("/tickets", headers={"apikey": token()}).status_code == 200


def test_unknown_or_disabled_users_are_403(api, db):
    ghost = token(sub="00000000-0000-4000-8000-00000000dead")
    assert_problem(api.http.get("/tickets", headers={"Authorization": f"Bearer {ghost}"}), 403)
    # ... but may still read the public KB, like anyone.
    search = api.http.get("/kb/search?q=password", headers={"Authorization": f"Bearer {ghost}"})
    assert search.status_code == 200
    disabled = make_user(db, status="disabled")
    headers = {"Authorization": f"Bearer {token(sub=str(disabled['id']))}"}
    assert_problem(api.http.post("/tickets", headers=headers, json={"subject": "hi"}), 403)


def test_unknown_route_and_method_are_problems(api):
    assert_problem(api.get("/nope"), 404)
    assert_problem(api.request("PUT", "/tickets", as_="agent", json={}), 405)


def test_unexpected_errors_are_500_without_details(api, monkeypatch):
    from autocrm.api.routes import kb

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(kb, "retrieve", boom)
    response = api.get("/kb/search", params={"q": "anything"})
    body = assert_problem(response, 500)
    assert "hunter2" not in response.text and body["detail"] == "internal error"


KILL_CONNECTIONS = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


def test_killed_connections_cost_no_errors_and_an_outage_is_503(api, db, server_url):
    from autocrm.db.connect import connect

    # A restart (every pooled connection dead): the pool checks a connection before lending it.
    db.execute(KILL_CONNECTIONS)
    assert [api.get("/tickets", as_="agent").status_code for _ in range(5)] == [200] * 5
    # An outage (no new connection possible): a prompt 503 problem, then recovery.
    name = db.execute("SELECT current_database() AS d").fetchone()["d"]
    with connect(server_url, autocommit=True, vector=False) as admin:
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            started = time.monotonic()
            down = api.get("/tickets", as_="agent")
            assert time.monotonic() - started < 15
            assert_problem(down, 503)
            assert down.json()["type"].endswith("database-unavailable")
        finally:
            admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
    statuses = [api.get("/tickets", as_="agent").status_code for _ in range(5)]
    assert statuses == [200] * 5, statuses


def test_health_and_readiness(api):
    assert api.get("/healthz").json() == {"status": "ok", "checks": {}}
    ready = api.get("/readyz").json()
    # No worker runs in this session: the API stays ready, the worker check says why it degrades.
    assert ready == {
        "status": "degraded",
        "checks": {
            "database": "ok",
            "schema": "ok",
            "model": "ok",
            "worker": "no worker heartbeat: no worker registered",
        },
    }


def test_readiness_fails_when_migrations_are_pending(api, db):
    version = db.execute("SELECT max(version) AS v FROM schema_migrations").fetchone()["v"]
    row = db.execute("DELETE FROM schema_migrations WHERE version = %s RETURNING *", (version,))
    saved = row.fetchone()
    try:
        body = assert_problem(api.get("/readyz"), 503)
        assert body["checks"]["schema"] == "migrations pending"
    finally:
        db.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
            "VALUES (%(version)s, %(name)s, %(checksum)s, %(applied_at)s)",
            saved,
        )


def test_metrics_use_route_templates(api):
    api.get("/tickets/99999999-0000-4000-8000-000000000014", as_="agent")
    api.post("/tickets", as_="customer", content=b"x" * 2_000_000)
    api.post("/tickets", as_="customer", json={"subject": "Queued"})  # queues the auto-responder
    text = api.get("/metrics").text
    assert 'route="/tickets/{ticket_id}",status="200"' in text
    assert 'autocrm_http_requests_total{method="POST",route="/tickets",status="413"}' in text
    assert "99999999-0000-4000-8000-000000000014" not in text
    assert "autocrm_http_request_duration_seconds_bucket" in text
    depth = next(line for line in text.splitlines() if line.startswith("autocrm_queue_depth{"))
    assert depth.startswith('autocrm_queue_depth{queue="auto"}') and float(depth.split()[-1]) >= 1


def test_openapi_is_valid(api):
    import schemathesis

    spec = api.get("/openapi.json").json()
    schemathesis.openapi.from_dict(spec).validate()
    assert {"/tickets", "/kb/search", "/ai-responses/{response_id}/feedback"} <= set(spec["paths"])
    ticket_in = spec["components"]["schemas"]["TicketIn"]
    assert ticket_in["additionalProperties"] is False and ticket_in["examples"]


def test_tracing_configured_without_packages_fails_at_startup():
    from autocrm.api.app import create_app
    from autocrm.api.tracing import TracingUnavailable

    try:
        import opentelemetry.sdk  # noqa: F401

        pytest.skip("the OpenTelemetry SDK is installed here")
    except ImportError:
        pass
    with pytest.raises(TracingUnavailable, match="opentelemetry-sdk"):
        create_app(make_settings("postgresql:///unused", otlp_endpoint="http://127.0.0.1:4318"))


def test_token_command_mints_a_token_the_api_accepts(api, monkeypatch):
    from autocrm.cli.api import token as token_command

    monkeypatch.setenv("AUTOCRM_JWT_SECRET", JWT_SECRET)
    cli = typer.Typer()
    cli.command()(token_command)
    result = CliRunner().invoke(cli, ["--user", ETHAN, "--role", "customer", "--ttl", "120"])
    assert result.exit_code == 0, result.output
    minted = result.output.strip()
    claims = jwt.decode(minted, JWT_SECRET, algorithms=["HS256"], audience="authenticated")
    assert claims["sub"] == ETHAN and claims["app_metadata"] == {"role": "customer"}
    assert claims["exp"] - claims["iat"] == 120
    response = api.http.get(
        f"/tickets?customer_id={ETHAN}", headers={"Authorization": f"Bearer {minted}"}
    )
    assert response.status_code == 200
    bad = CliRunner().invoke(cli, ["--user", "nobody"])
    assert bad.exit_code != 0
