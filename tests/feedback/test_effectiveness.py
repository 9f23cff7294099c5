"""The effectiveness views against a hand-computed fixture, their exact roll-ups, the charts and
the ``report ai`` command."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import typer
from typer.testing import CliRunner

from autocrm.cli.feedback import report_app
from autocrm.db.connect import connect
from autocrm.pipeline.effectiveness import effectiveness_rows, effectiveness_summary, write_charts
from autocrm.pipeline.feedback import (
    derive_implicit_signals,
    record_agent_action,
    record_customer_signal,
    refresh_effectiveness_views,
)
from tests.feedback.builders import BILLING_TEAM, DANIEL, ETHAN, make_response

DAY = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DRAFT = "Go to Settings and click Export."
EDITED = "Go to Settings and click Export now."  # 4 insertions over 36 characters
EDIT_SIM = 1 - 4 / 36


def build_fixture(conn) -> None:
    """Five responses on one day, team Billing, category billing:
    sent  R1: deflected, CSAT 5                      latency 100
    sent  R2: deflected then replied again, CSAT 2   latency 300
    draft R3: accepted                               latency 200
    draft R4: edited (similarity 32/36)              latency 400
    esc.  R5: rejected (missing knowledge)           latency 50"""
    common = {"team_id": BILLING_TEAM, "category": "billing"}
    r1 = make_response(conn, at=DAY, latency_ms=100, draft=DRAFT, **common)
    r2 = make_response(conn, at=DAY, latency_ms=300, draft=DRAFT, **common)
    r3 = make_response(conn, at=DAY, decision="drafted", latency_ms=200, draft=DRAFT, **common)
    r4 = make_response(conn, at=DAY, decision="drafted", latency_ms=400, draft=DRAFT, **common)
    r5 = make_response(conn, at=DAY, decision="escalated", latency_ms=50, draft=DRAFT, **common)
    for r in (r1, r2):
        conn.execute("UPDATE tickets SET status = 'solved', resolved_at = %s WHERE id = %s",
                     (DAY + timedelta(hours=1), r["ticket_id"]))  # fmt: skip
    derive_implicit_signals(conn, now=DAY + timedelta(hours=2))  # both deflected
    conn.execute(
        "INSERT INTO conversations (ticket_id, author_id, message_type, body, created_at) "
        "VALUES (%s, %s, 'customer', 'Not what I asked.', %s)",
        (r2["ticket_id"], ETHAN, DAY + timedelta(hours=3)),
    )
    derive_implicit_signals(conn, now=DAY + timedelta(hours=4))  # R2 replied again, reopened
    record_customer_signal(conn, response_id=r1["id"], customer_id=ETHAN, csat=5)
    record_customer_signal(conn, response_id=r2["id"], customer_id=ETHAN, csat=2)
    record_agent_action(conn, response_id=r3["id"], agent_id=DANIEL, action="accepted")
    record_agent_action(
        conn, response_id=r4["id"], agent_id=DANIEL, action="edited", final_text=EDITED
    )
    record_agent_action(
        conn, response_id=r5["id"], agent_id=DANIEL, action="rejected", reason="incomplete"
    )


@pytest.fixture
def fixture_db(fresh_db):
    with connect(fresh_db) as conn:
        build_fixture(conn)
        conn.commit()
        refresh_effectiveness_views(conn)  # REFRESH … CONCURRENTLY, as the scheduled job does
        conn.commit()
    return fresh_db


# R1 score: customer 1.0, outcome 1.0 -> 1.0. R2: customer 0.25, outcome 0 -> 0.075/0.5 = 0.15.
EXPECTED = {
    "sent": {
        "responses": 2, "acted": 0, "acceptance_rate": None, "compared": 0,
        "mean_edit_similarity": None, "deflection_rate": 0.5, "reopen_rate": 0.5, "rated": 2,
        "csat": 3.5, "escalation_rate": 0.0, "scored": 2, "mean_score": (1.0 + 0.15) / 2,
        "p50_latency_ms": 200.0, "p95_latency_ms": 100 + 0.95 * 200,
    },
    "drafted": {
        "responses": 2, "acted": 2, "acceptance_rate": 0.5, "compared": 2,
        "mean_edit_similarity": (1 + EDIT_SIM) / 2, "deflection_rate": None, "reopen_rate": None,
        "rated": 0, "csat": None, "escalation_rate": 0.0, "scored": 2,
        "mean_score": (1 + EDIT_SIM) / 2, "p50_latency_ms": 300.0,
        "p95_latency_ms": 200 + 0.95 * 200,
    },
    "escalated": {
        "responses": 1, "acted": 1, "acceptance_rate": 0.0, "compared": 0,
        "mean_edit_similarity": None, "deflection_rate": None, "reopen_rate": None, "rated": 0,
        "csat": None, "escalation_rate": 1.0, "scored": 1, "mean_score": 0.0,
        "p50_latency_ms": 50.0, "p95_latency_ms": 50.0,
    },
}  # fmt: skip


def approx(expected: dict) -> dict:
    return {k: v if v is None else pytest.approx(v) for k, v in expected.items()}


def test_view_matches_the_hand_computed_fixture(fixture_db):
    with connect(fixture_db) as conn:
        rows = effectiveness_rows(conn, since=date(2026, 11, 1))
        assert len(rows) == 3
        for row in rows:
            assert (row["day"], str(row["team_id"]), row["team"], row["category"]) == (
                date(2026, 11, 20),
                BILLING_TEAM,
                "Billing & Accounts",
                "billing",
            )
            assert (row["model"], row["prompt_version"]) == ("extractive-v1", "extractive_v1")
            got = {k: row[k] for k in EXPECTED[row["decision"]]}
            assert got == approx(EXPECTED[row["decision"]]), row["decision"]
        # Staff read the view through the SECURITY DEFINER function (recreated by the migration).
        conn.execute(
            "SELECT set_config('request.jwt.claims', '{\"role\": \"service_role\"}', true)"
        )
        via_function = conn.execute(
            "SELECT * FROM ai_effectiveness_for_staff('2026-11-01')"
        ).fetchall()
        assert len(via_function) == 3


def test_summary_rolls_rates_up_exactly(fixture_db):
    with connect(fixture_db) as conn:
        summary = {r["decision"]: r for r in effectiveness_summary(conn, since=date(2026, 11, 1))}
    assert set(summary) == {"sent", "drafted", "escalated", "all"}
    for decision, expected in EXPECTED.items():
        assert {k: summary[decision][k] for k in expected} == approx(expected)
    total = summary["all"]
    assert total["responses"] == 5 and total["acted"] == 3
    assert total["acceptance_rate"] == pytest.approx(1 / 3)  # 1 accepted of 3 acted on
    assert total["deflection_rate"] == pytest.approx(0.5)  # over the 2 sent
    assert total["escalation_rate"] == pytest.approx(1 / 5)
    assert total["csat"] == pytest.approx(3.5)
    assert total["mean_score"] == pytest.approx((1.0 + 0.15 + 1 + EDIT_SIM + 0.0) / 5)
    assert total["p50_latency_ms"] == pytest.approx(200.0)  # of 50, 100, 200, 300, 400


def test_charts_and_report_command(fixture_db, tmp_path, monkeypatch):
    with connect(fixture_db) as conn:
        rows = effectiveness_rows(conn, since=date(2026, 11, 1))
    charts = write_charts(rows, out_dir=tmp_path / "direct")
    assert [p.name for p in charts] == ["trend.png", "by_category.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in charts)

    app = typer.Typer()
    app.add_typer(report_app, name="report")
    monkeypatch.setenv("AUTOCRM_DATABASE_URL", fixture_db)
    out = tmp_path / "cli"
    result = CliRunner().invoke(app, ["report", "ai", "--since", "2026-11-01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "escalated" in result.output and "Billing & Accounts" in result.output
    assert {p.name for p in out.iterdir()} == {"trend.png", "by_category.png", "effectiveness.csv"}


def test_export_gaps_and_propose_commands(fixture_db, tmp_path, monkeypatch):
    from autocrm.cli.feedback import export_app, feedback_app, kb_propose

    app = typer.Typer()
    app.add_typer(report_app, name="report")
    app.add_typer(export_app, name="export")
    app.add_typer(feedback_app, name="feedback")
    kb = typer.Typer()
    kb.command("propose")(kb_propose)
    app.add_typer(kb, name="kb")
    monkeypatch.setenv("AUTOCRM_DATABASE_URL", fixture_db)
    runner = CliRunner()

    out = tmp_path / "learning.jsonl"
    result = runner.invoke(app, ["export", "learning", "--since", "2026-11-01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 5 and all(r["redacted"] for r in records)

    result = runner.invoke(app, ["report", "gaps", "--since", "2026-11-01", "--min-size", "1"])
    assert result.exit_code == 0, result.output
    assert "missing_knowledge 1" in result.output and "rejected 1" in result.output

    result = runner.invoke(app, ["kb", "propose", "--since", "2026-11-01", "--min-size", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("no_solution")

    result = runner.invoke(app, ["feedback", "sync"])
    assert result.exit_code == 0, result.output
    assert "responses scored" in result.output
