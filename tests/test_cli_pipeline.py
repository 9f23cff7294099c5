"""`autocrm ask` and `autocrm suggest` as a user runs them (real process, real model)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from autocrm.db.connect import connect

AUTOCRM = str(Path(sys.executable).parent / "autocrm")


def cli(url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    extra = env or {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOCRM_")}
    env |= {"AUTOCRM_DATABASE_URL": url, "HF_HUB_OFFLINE": "1"} | extra
    return subprocess.run([AUTOCRM, *args], env=env, capture_output=True, text=True, timeout=180)


def test_ask_prints_a_cited_answer_and_stores_nothing(kb_db):
    with connect(kb_db) as conn:
        before = conn.execute("SELECT count(*) AS n FROM ai_responses").fetchone()["n"]
    out = cli(kb_db, "ask", "How do I reset my password?")
    assert out.returncode == 0, out.stderr
    assert "decision: sent" in out.stdout and "Sources:\n[1] Reset your password" in out.stdout
    with connect(kb_db) as conn:
        assert conn.execute("SELECT count(*) AS n FROM ai_responses").fetchone()["n"] == before


def test_ask_says_why_a_confident_reply_is_held_back(kb_db):
    env_policy = {"AUTOCRM_DECISION__AUTO_SEND": "never"}
    out = cli(kb_db, "ask", "How do I reset my password?", env=env_policy)
    assert out.returncode == 0, out.stderr
    assert "decision: drafted (held back: auto-send: never)" in out.stdout


def test_suggest_stores_an_internal_draft(kb_db):
    ticket = "99999999-0000-4000-8000-000000000010"
    out = cli(kb_db, "suggest", ticket)
    assert out.returncode == 0, out.stderr
    assert "decision: drafted" in out.stdout and "confidence:" in out.stdout
    with connect(kb_db, autocommit=True) as conn:
        row = conn.execute(
            "SELECT r.kind::text, m.is_internal FROM ai_responses r JOIN "
            "conversations m ON m.id = r.message_id WHERE r.ticket_id = %s "
            "ORDER BY r.created_at DESC LIMIT 1",
            (ticket,),
        ).fetchone()
        conn.execute(
            "DELETE FROM ai_responses WHERE ticket_id = %s AND kind = 'suggestion'", (ticket,)
        )
    assert row == {"kind": "suggestion", "is_internal": True}


def test_unknown_ticket_is_a_one_line_error(kb_db):
    out = cli(kb_db, "suggest", "00000000-0000-4000-8000-000000000000")
    assert out.returncode == 2 and out.stderr.strip().startswith("error: ticket")
    assert "Traceback" not in out.stderr
