"""``autocrm demo``: the main job, end to end, on the embedded database.

Migrate → seed the Flowdesk demo org → embed its knowledge base → open a few tickets as customers →
run the auto-responder (triage, retrieval, draft, decision) through the real queue and worker → show
what it did.
"""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from autocrm.cli.context import open_db
from autocrm.core.locks import exclusive
from autocrm.core.settings import Settings
from autocrm.db import migrate as migrations
from autocrm.db.server import check_data_dir

SUMMARY_SQL = """
SELECT (SELECT count(*) FROM users WHERE role = 'customer') AS customers,
       (SELECT count(*) FROM users WHERE role IN ('agent', 'admin')) AS staff,
       (SELECT count(*) FROM teams) AS teams,
       (SELECT count(*) FROM kb_articles) AS articles,
       (SELECT count(*) FROM kb_articles WHERE status = 'published') AS published,
       (SELECT count(*) FROM kb_chunks) AS chunks,
       (SELECT count(*) FROM tickets) AS tickets,
       (SELECT count(*) FROM conversations) AS messages
"""

# (customer id, subject, description): opened by the demo once (idempotent by subject).
DEMO_TICKETS = [
    (
        "22222222-0000-4000-8000-000000000003",
        "How do I reset my password?",
        "I forgot my Flowdesk password and can't log in. How can I reset it?",
    ),
    (
        "22222222-0000-4000-8000-000000000005",
        "API rate limit on the Team plan",
        "What is the API rate limit on the Team plan, and which headers tell me how much is left?",
    ),
    (
        "22222222-0000-4000-8000-000000000007",
        "Refund for annual plan",
        "We bought the annual Business plan by mistake last week. Can we get a refund? "
        "I'd like to talk to a person about this.",
    ),
    (
        "22222222-0000-4000-8000-000000000008",
        "Printer on fire",
        "Our office printer makes a burning smell when it prints in colour. What should we do?",
    ),
]

NEXT_STEPS = """
== what to try next ==
  autocrm tickets list                             the tickets, their numbers and what the AI did
  {suggest:<49}draft a reply for ticket #{number} (stored as an internal draft)
  autocrm report gaps                              what the knowledge base could not answer
  autocrm ask "How do I reset my password?"        a reply from the demo help centre (nothing stored)
  autocrm ask "and on Business?" --after "What is the API rate limit on Team?"   a follow-up
  autocrm eval run --dataset support-answers       measure the replies (ships with the repo)

== the web workspace ==
  autocrm serve --dev                              then open http://127.0.0.1:8000/
  sign in (dev mode lists the demo users) as:
    Daniel Reyes, agent      daniel.reyes@flowdesk.io    the inbox, suggested replies
    Maya Okafor, admin       maya.okafor@flowdesk.io     AI insights, proposed articles, evals
    Olivia Chen, customer    olivia.chen@brightline.example   the customer portal
  API docs: http://127.0.0.1:8000/docs (token: autocrm token --user <id>)
"""

INSERT_DEMO_TICKET = """
INSERT INTO tickets (customer_id, subject, description, channel, metadata)
SELECT %s, %s, %s, 'web', '{"demo": true}'
 WHERE NOT EXISTS (SELECT 1 FROM tickets WHERE subject = %s AND metadata ? 'demo')
RETURNING id
"""

SHOW_DEMO_TICKETS = """
SELECT t.number, t.subject, t.status::text AS status, t.priority::text AS priority, t.category,
       tm.name AS team, r.decision::text AS decision, r.handoff_reason::text AS reason,
       r.confidence, r.draft
  FROM tickets t
  LEFT JOIN teams tm ON tm.id = t.team_id
  LEFT JOIN ai_responses r ON r.ticket_id = t.id AND r.kind = 'auto_reply'
 WHERE t.metadata ? 'demo' ORDER BY t.number
"""

SENT_DEMO_REPLIES = """
SELECT r.id, t.customer_id FROM ai_responses r JOIN tickets t ON t.id = r.ticket_id
 WHERE t.metadata ? 'demo' AND r.kind = 'auto_reply' AND r.decision = 'sent'
"""


def demo() -> None:
    """Set up the embedded database, load the demo org, embed its KB and auto-answer tickets.

    Example: autocrm demo
    """
    settings = Settings()
    check_data_dir(settings.data_dir)
    with (
        exclusive(settings.data_dir / "demo.lock", what="demo"),
        open_db(settings, need_schema=False) as conn,
    ):
        applied = migrations.migrate(conn)
        typer.echo(f"database ready ({len(applied)} migration(s) applied)")
        migrations.seed(conn)

    from autocrm.api import tasks
    from autocrm.api.worker import run_worker
    from autocrm.cli.ingest import print_report
    from autocrm.cli.pipeline import JobTally
    from autocrm.db.connect import resolve_url
    from autocrm.ingest.job import ingest
    from autocrm.pipeline.embedder import build_embedder

    embedder = build_embedder(settings)
    with open_db(settings) as conn:  # anew: the vector type now exists
        typer.echo("\n== knowledge base: embedding the articles authored in the app ==")
        print_report(
            ingest(
                conn, source_path=None, from_db=True, embedder=embedder, chunking=settings.chunking
            )
        )
        summary = conn.execute(SUMMARY_SQL).fetchone()
        typer.echo("\n== demo organisation ==")
        for key, value in summary.items():
            typer.echo(f"  {key:<10} {value}")
        new_ids = [
            row["id"]
            for c, s, d in DEMO_TICKETS
            for row in conn.execute(INSERT_DEMO_TICKET, (c, s, d, s)).fetchall()
        ]
    typer.echo(f"\n== auto-responder: {len(new_ids)} new ticket(s) queued ==")
    queue = tasks.build_queue(resolve_url(settings))
    with queue.open():
        for ticket_id in new_ids:
            tasks.enqueue_auto_response(ticket_id=str(ticket_id))
    with JobTally() as tally:
        run_worker(settings, concurrency=2, once=True, embedder=embedder)
    typer.echo(tally.summary())
    first_number = None
    with open_db(settings) as conn:
        for row in conn.execute(SHOW_DEMO_TICKETS):
            first_number = first_number or row["number"]
            decision = row["decision"] or "(not answered yet)"
            reason = f" ({row['reason']})" if row["reason"] else ""
            confidence = (
                f", confidence {row['confidence']:.2f}" if row["confidence"] is not None else ""
            )
            typer.echo(f"\n#{row['number']} {row['subject']}")
            typer.echo(
                f"  triage: {row['category'] or '-'} / {row['priority']} → {row['team'] or '-'}"
                f"; status {row['status']}"
            )
            typer.echo(f"  AI: {decision}{reason}{confidence}")
            if row["reason"] == "missing_knowledge":
                typer.echo("  --- no published article answers this: an agent takes it ---")
            elif row["draft"]:
                label = (
                    "reply sent to the customer"
                    if row["decision"] == "sent"
                    else "internal draft for an agent (not sent)"
                )
                typer.echo(f"  --- {label} ---")
                typer.echo("  " + row["draft"].replace("\n", "\n  "))
        from datetime import date, timedelta

        from autocrm.pipeline.effectiveness import effectiveness_summary, format_table
        from autocrm.pipeline.feedback import derive_implicit_signals, record_customer_signal

        # The customers whose questions were answered rate the replies (idempotent event keys).
        for row in conn.execute(SENT_DEMO_REPLIES).fetchall():
            record_customer_signal(
                conn,
                response_id=row["id"],
                customer_id=row["customer_id"],
                signal="helped",
                csat=5,
                event_key=f"demo:{row['id']}",
            )
        derive_implicit_signals(conn, now=datetime.now(UTC))
        rows = effectiveness_summary(conn, since=date.today() - timedelta(days=30), refresh=True)
        typer.echo("\n== AI effectiveness, last 30 days (autocrm report ai --since 30d) ==")
        typer.echo(format_table(rows))
    number = first_number or "<number>"
    typer.echo(NEXT_STEPS.format(suggest=f"autocrm suggest {number}", number=number))
