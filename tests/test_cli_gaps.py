"""`autocrm report gaps` shows a one-ticket gap by default (as after `autocrm demo`, where one
question had no article), and says why when it lists nothing and what to try."""

from __future__ import annotations

from typer.testing import CliRunner

from autocrm.cli.main import app
from autocrm.db.connect import connect
from tests.builders import make_ticket

ETHAN = "22222222-0000-4000-8000-000000000006"


def report_gaps(url: str, *args: str):
    return CliRunner().invoke(
        app, ["report", "gaps", *args], env={"AUTOCRM_DATABASE_URL": url, "AUTOCRM_ORG": None}
    )


def test_report_gaps_lists_a_single_missing_knowledge_ticket_and_explains_filters(
    fresh_db: str,
) -> None:
    with connect(fresh_db, autocommit=True) as db:
        ticket = make_ticket(
            db,
            customer_id=ETHAN,
            subject="Printer on fire",
            description="Our office printer makes a burning smell when it prints in colour.",
        )
        db.execute(
            "INSERT INTO ai_responses (ticket_id, kind, model, prompt_version, decision, "
            "handoff_reason, confidence) VALUES (%s, 'auto_reply', 'test', 'test_v1', "
            "'escalated', 'missing_knowledge', 0.02)",
            (ticket["id"],),
        )
    shown = report_gaps(fresh_db)
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith(
        f"1. Printer on fire  (1 ticket: low_confidence 1, missing_knowledge 1)  "
        f"[gap-{ticket['number']}]\n     #{ticket['number']} Printer on fire  (new)\n"
    ), shown.output
    assert "next: publish an article" in shown.output

    hidden = report_gaps(fresh_db, "--min-size", "2")
    assert hidden.exit_code == 0, hidden.output
    assert hidden.output.strip() == (
        "no gap cluster of 2+ tickets; 1 cluster(s) smaller than --min-size 2: --min-size 1 "
        "lists them"
    )

    none = report_gaps(fresh_db, "--since", "2099-01-01")
    assert none.exit_code == 0, none.output
    assert none.output.startswith("no knowledge gaps since 2099-01-01: ")
    assert "Try a longer --since" in none.output
