"""Implicit signals read off the tickets after an AI reply; running the job twice adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from autocrm.pipeline.feedback import derive_implicit_signals
from tests.builders import make_message
from tests.feedback.builders import DANIEL, ETHAN, make_response

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)

SIGNALS = """
SELECT ai_response_id, signal, value, source::text, event_key FROM ai_feedback
 WHERE ai_response_id = ANY(%s::uuid[]) ORDER BY event_key
"""


def solve(conn, ticket, at):
    conn.execute(
        "UPDATE tickets SET status = 'solved', resolved_at = %s WHERE id = %s", (at, ticket["id"])
    )


@pytest.fixture
def scenario(conn):
    """deflected: sent, solved 30 min later, no agent message.
    came_back: sent, solved (the customer writes again after 1 h: ``customer_comes_back``).
    drafted: an internal draft; an agent answered after 20 min.
    late: sent; the customer wrote again after 30 h (outside a 24 h window)."""
    deflected = make_response(conn, at=T0 + MIN)
    solve(conn, deflected["ticket"], T0 + 30 * MIN)
    came_back = make_response(conn, at=T0 + MIN)
    solve(conn, came_back["ticket"], T0 + 20 * MIN)
    drafted = make_response(conn, at=T0 + MIN, decision="drafted", kind="auto_reply")
    make_message(conn, ticket_id=drafted["ticket_id"], author_id=DANIEL, message_type="agent",
                 body="Here is how.", created_at=T0 + 20 * MIN)  # fmt: skip
    solve(conn, drafted["ticket"], T0 + 25 * MIN)  # solved by a human: not a deflection
    late = make_response(conn, at=T0 + MIN)
    make_message(conn, ticket_id=late["ticket_id"], author_id=ETHAN, body="Hm, one more thing.",
                 created_at=T0 + 30 * 60 * MIN)  # fmt: skip
    return {"deflected": deflected, "came_back": came_back, "drafted": drafted, "late": late}


def customer_comes_back(conn, scenario) -> None:
    """The customer writes on the solved ticket: the conversations trigger reopens it."""
    make_message(conn, ticket_id=scenario["came_back"]["ticket_id"], author_id=ETHAN,
                 body="Still broken.", created_at=T0 + 61 * MIN)  # fmt: skip


def signals(conn, scenario) -> dict[str, dict[str, float | None]]:
    names = {str(r["id"]): name for name, r in scenario.items()}
    out: dict[str, dict] = {name: {} for name in scenario}
    for row in conn.execute(SIGNALS, (list(names),)):
        assert row["source"] == "system"
        assert row["event_key"] == f"{row['ai_response_id']}:{row['signal']}"
        out[names[str(row["ai_response_id"])]][row["signal"]] = row["value"]
    return out


def test_implicit_signals(conn, scenario):
    early = derive_implicit_signals(conn, now=T0 + 45 * MIN, reply_window_hours=24)
    assert early == {"replied_again": 0, "reopened": 0, "deflected": 2, "first_response": 4}
    customer_comes_back(conn, scenario)
    added = derive_implicit_signals(conn, now=T0 + 2 * 60 * MIN, reply_window_hours=24)
    assert added == {"replied_again": 1, "reopened": 1, "deflected": 0, "first_response": 0}
    got = signals(conn, scenario)
    # first_response: seconds from ticket creation (a minute before the reply) to first response
    assert got["deflected"] == {"deflected": pytest.approx(29 * 60), "first_response": 60}
    # came_back was deflected at 45 min (solved, no agent), then reopened: both are kept, and the
    # views and the score treat the pair as not deflected.
    assert got["came_back"] == {
        "deflected": pytest.approx(19 * 60),
        "replied_again": pytest.approx(60 * 60),
        "reopened": 1,
        "first_response": 60,
    }
    assert got["drafted"] == {"first_response": pytest.approx(20 * 60)}
    assert got["late"] == {"first_response": 60}
    # The late reply falls outside the window even when the job sees it.
    later = derive_implicit_signals(conn, now=T0 + 31 * 60 * MIN, reply_window_hours=24)
    assert later["replied_again"] == 0


def test_running_twice_adds_nothing(conn, scenario):
    customer_comes_back(conn, scenario)
    now = T0 + 2 * 60 * MIN
    first = derive_implicit_signals(conn, now=now)
    before = conn.execute(SIGNALS, ([str(r["id"]) for r in scenario.values()],)).fetchall()
    scores = conn.execute(
        "SELECT id, score FROM ai_responses WHERE id = ANY(%s::uuid[]) ORDER BY id",
        ([str(r["id"]) for r in scenario.values()],),
    ).fetchall()
    second = derive_implicit_signals(conn, now=now)
    assert first == {"replied_again": 1, "reopened": 1, "deflected": 1, "first_response": 4}
    assert set(second.values()) == {0}
    assert conn.execute(SIGNALS, ([str(r["id"]) for r in scenario.values()],)).fetchall() == before
    after = conn.execute(
        "SELECT id, score FROM ai_responses WHERE id = ANY(%s::uuid[]) ORDER BY id",
        ([str(r["id"]) for r in scenario.values()],),
    ).fetchall()
    assert after == scores
    by_id = {str(s["id"]): s["score"] for s in after}
    assert by_id[str(scenario["deflected"]["id"])] == 1.0  # outcome only
    assert by_id[str(scenario["came_back"]["id"])] == 0.0  # replied again, reopened
    assert by_id[str(scenario["drafted"]["id"])] is None  # nobody judged it
