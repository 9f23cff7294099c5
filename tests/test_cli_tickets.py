"""`autocrm tickets list`, and ticket numbers (24, #24) wherever a command takes a ticket."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from autocrm.cli.main import app
from autocrm.cli.tickets import resolve_ticket
from autocrm.core.errors import InvalidInput, NotFound
from autocrm.db.connect import connect
from tests.builders import make_ticket

AUTOCRM = str(Path(sys.executable).parent / "autocrm")
T10 = "99999999-0000-4000-8000-000000000010"  # a seed ticket (db/seeds)
ETHAN = "22222222-0000-4000-8000-000000000006"


def invoke(url: str, *args: str):
    """The CLI in this process (CliRunner), on ``url``, in a wide terminal."""
    return CliRunner().invoke(
        app, list(args), env={"AUTOCRM_DATABASE_URL": url, "COLUMNS": "200", "AUTOCRM_ORG": None}
    )


def run(url: str, *args: str) -> subprocess.CompletedProcess:
    """The installed ``autocrm`` as a user runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOCRM_")}
    env |= {"AUTOCRM_DATABASE_URL": url, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([AUTOCRM, *args], env=env, capture_output=True, text=True, timeout=240)


def number_of(conn: psycopg.Connection, ticket_id: str) -> int:
    return conn.execute("SELECT number FROM tickets WHERE id = %s", (ticket_id,)).fetchone()[
        "number"
    ]


def test_resolver_takes_a_number_a_hash_number_or_a_uuid(conn: psycopg.Connection) -> None:
    number = number_of(conn, T10)
    for ref in (str(number), f"#{number}", f" # {number} ", T10, T10.upper()):
        assert str(resolve_ticket(conn, ref=ref)) == T10, ref


@pytest.mark.parametrize(
    ("ref", "error", "says"),
    [
        ("abc", InvalidInput, "give its number (24 or #24) or its id (a UUID)"),
        ("#", InvalidInput, "is not a ticket"),
        ("#987654321", NotFound, "ticket #987654321 not found"),
        (str(uuid.UUID(int=1)), NotFound, f"ticket {uuid.UUID(int=1)} not found"),
    ],
)
def test_resolver_errors_say_how_to_list_tickets(
    conn: psycopg.Connection, ref: str, error: type, says: str
) -> None:
    with pytest.raises(error) as caught:
        resolve_ticket(conn, ref=ref)
    assert says in str(caught.value)
    assert "`autocrm tickets list`" in str(caught.value)


def test_tickets_list_shows_numbers_status_customer_and_ai(fresh_db: str) -> None:
    with connect(fresh_db, autocommit=True) as db:
        ticket = make_ticket(db, customer_id=ETHAN, subject="Printer on fire (list test)")
        db.execute(
            "INSERT INTO ai_responses (ticket_id, kind, model, prompt_version, decision, "
            "handoff_reason, confidence) VALUES (%s, 'auto_reply', 'test', 'test_v1', "
            "'escalated', 'missing_knowledge', 0.02)",
            (ticket["id"],),
        )
        total = db.execute("SELECT count(*) AS n FROM tickets").fetchone()["n"]
    result = invoke(fresh_db, "tickets", "list", "--limit", "3")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["#", "status", "priority", "subject", "customer", "AI"]
    newest = lines[2].split()  # newest first: ours
    assert newest[:3] == [str(ticket["number"]), "new", "normal"], lines[2]
    assert "Printer on fire (list test)" in lines[2] and "Ethan" in lines[2]
    assert lines[2].rstrip().endswith("escalated: no article")
    assert f"3 of {total} tickets shown; --limit {total} shows all" in result.output
    assert f"autocrm suggest {ticket['number']}" in result.output


def test_tickets_list_filters_by_status_and_says_when_none(fresh_db: str) -> None:
    with connect(fresh_db, autocommit=True) as db:
        db.execute("UPDATE tickets SET status = 'pending' WHERE status = 'on_hold'")
        pending = db.execute(
            "SELECT count(*) AS n FROM tickets WHERE status = 'pending'"
        ).fetchone()
    result = invoke(fresh_db, "tickets", "list", "--status", "pending", "--limit", "1000")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines()[2:]]
    statuses = [r[1] for r in rows if r and r[0].isdigit()]
    assert statuses == ["pending"] * pending["n"] and pending["n"] > 0
    none = invoke(fresh_db, "tickets", "list", "--status", "on_hold")
    assert none.exit_code == 0
    assert none.output.startswith("no tickets with status on_hold.")
    assert "POST /tickets" in none.output


def test_tickets_list_rejects_an_unknown_status(fresh_db: str) -> None:
    result = invoke(fresh_db, "tickets", "list", "--status", "bogus")
    assert isinstance(result.exception, InvalidInput)
    assert "use one of new, open, pending, on_hold, solved, closed" in str(result.exception)


def test_suggest_takes_a_ticket_number(kb_db: str) -> None:
    with connect(kb_db, autocommit=True) as db:
        number = number_of(db, T10)
    try:
        out = run(kb_db, "suggest", f"#{number}")
        assert out.returncode == 0, out.stderr
        assert "decision: " in out.stdout and "stored as an internal draft" in out.stdout
        with connect(kb_db, autocommit=True) as db:
            stored = db.execute(
                "SELECT count(*) AS n FROM ai_responses WHERE ticket_id = %s AND kind = "
                "'suggestion'",
                (T10,),
            ).fetchone()["n"]
        assert stored == 1
    finally:
        with connect(kb_db, autocommit=True) as db:
            db.execute(
                "DELETE FROM ai_responses WHERE ticket_id = %s AND kind = 'suggestion'", (T10,)
            )


def test_suggest_of_an_unknown_number_says_how_to_list_tickets(kb_db: str) -> None:
    out = run(kb_db, "suggest", "987654321")
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.strip() == (
        "error: ticket #987654321 not found; `autocrm tickets list` shows the tickets and their "
        "numbers"
    )


def test_suggest_and_ask_on_an_empty_knowledge_base_say_how_to_fill_it(fresh_db: str) -> None:
    with connect(fresh_db, autocommit=True) as db:  # the seed's articles, not embedded yet
        assert db.execute("SELECT count(*) AS n FROM kb_chunks").fetchone()["n"] == 0
        number = number_of(db, T10)
    for args in (["suggest", str(number)], ["ask", "How do I reset my password?"]):
        result = invoke(fresh_db, *args)
        assert isinstance(result.exception, InvalidInput), result.output
        assert str(result.exception).startswith("the knowledge base is empty: `autocrm ingest")
