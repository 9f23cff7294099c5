"""The auto-responder on the real queue: two worker processes, duplicated events, exactly one
auto-response per ticket; and a model that stays down ends as a recorded hand-off."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autocrm.db.connect import connect
from tests.builders import make_ticket

# The workers here rebind the queue tasks to their own App: give the session its binding back.
pytestmark = pytest.mark.usefixtures("keep_task_binding")

ETHAN = "22222222-0000-4000-8000-000000000006"
QUESTIONS = [
    "How do I reset my password?",
    "What are the API rate limits on the Team plan?",
    "How do I export my data to CSV?",
    "Can I get a refund on my annual plan?",
    "How do I connect Slack notifications?",
    "My tomato plants are sick, what should I do?",
]


def worker_env(url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOCRM_")}
    return env | {"AUTOCRM_DATABASE_URL": url, "HF_HUB_OFFLINE": "1"}


def autocrm(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "autocrm"), *args]


def test_two_workers_and_duplicated_events_give_one_response_per_ticket(queue_db):
    from autocrm.api import tasks

    with connect(queue_db, autocommit=True) as conn:
        tickets = [
            make_ticket(conn, customer_id=ETHAN, subject=q, description=q)["id"] for q in QUESTIONS
        ]
    queue = tasks.build_queue(queue_db)
    with queue.open():
        for ticket_id in tickets:
            assert tasks.enqueue_auto_response(ticket_id=str(ticket_id))
            assert not tasks.enqueue_auto_response(ticket_id=str(ticket_id))  # duplicate event
            # A second event source that bypasses the queueing lock: two jobs, one ticket.
            tasks.auto_respond.defer(ticket_id=str(ticket_id))
    workers = [
        subprocess.Popen(
            autocrm("worker", "--once", "--concurrency", "2"),
            env=worker_env(queue_db),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [w.communicate(timeout=240)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    with connect(queue_db, autocommit=True) as conn:
        per_ticket = conn.execute(
            """
            SELECT t.id, count(r.id) AS responses,
                   (SELECT count(*) FROM conversations m WHERE m.ticket_id = t.id
                     AND m.message_type = 'ai') AS ai_messages,
                   t.ai_analysis <> '{}' AS triaged, t.team_id IS NOT NULL AS routed
              FROM tickets t LEFT JOIN ai_responses r ON r.ticket_id = t.id
             WHERE t.id = ANY(%s) GROUP BY t.id""",
            (tickets,),
        ).fetchall()
        jobs = conn.execute(
            "SELECT status::text AS status, count(*) AS n FROM procrastinate_jobs "
            "WHERE task_name = 'autocrm:auto_respond' GROUP BY 1"
        ).fetchall()
    assert len(per_ticket) == len(QUESTIONS)
    for row in per_ticket:
        assert (row["responses"], row["ai_messages"]) == (1, 1), row
        assert row["triaged"] and row["routed"], row
    # Ours (2 per ticket) plus the sweeper's for the seed's old unanswered tickets: none failed.
    assert {j["status"] for j in jobs} == {"succeeded"}
    assert sum(j["n"] for j in jobs) >= 2 * len(QUESTIONS)


def test_model_down_is_retried_then_handed_off(queue_db, llm_server, real_embedder):
    """Every attempt but the last re-raises (procrastinate retries with backoff); the last one
    records a model_failure hand-off, so the ticket still reaches a human."""
    from procrastinate import JobContext
    from procrastinate.jobs import Job

    from autocrm.api import tasks
    from autocrm.core.settings import Settings
    from autocrm.db.connect import make_pool
    from autocrm.pipeline.chat import ChatModelError, build_chat_model
    from autocrm.pipeline.resources import Resources

    llm_server.script(*([503] * 20))
    settings = Settings(
        database_url=queue_db,
        llm_base_url=llm_server.base_url,
        llm_model="test-model",
        llm_max_retries=0,
        llm_timeout_s=2,
    )
    pool = make_pool(queue_db, min_size=1, max_size=2)
    resources = Resources(
        settings=settings,
        url=queue_db,
        pool=pool,
        embedder=real_embedder,
        chat_model=build_chat_model(settings),
    )
    try:
        with connect(queue_db, autocommit=True) as conn:
            ticket = make_ticket(
                conn,
                customer_id=ETHAN,
                subject="Reset password",
                description="How do I reset my password?",
            )
        for attempt in range(tasks.AUTO_RESPOND_ATTEMPTS):
            job = Job(
                id=1,
                queue="auto",
                lock=None,
                queueing_lock=None,
                task_name="autocrm:auto_respond",
                attempts=attempt,
                task_kwargs={"ticket_id": str(ticket["id"])},
            )
            context = JobContext(
                app=None,
                job=job,
                worker_name="test",
                additional_context=tasks.job_context(resources),
                abort_reason=lambda: None,
                start_timestamp=time.time(),
            )
            if attempt < tasks.AUTO_RESPOND_ATTEMPTS - 1:
                with pytest.raises(ChatModelError):
                    tasks.auto_respond(context, ticket_id=str(ticket["id"]))
            else:
                assert (
                    tasks.auto_respond(context, ticket_id=str(ticket["id"]))
                    == "model failure: handed off"
                )
        with connect(queue_db, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT decision::text, handoff_reason::text, error FROM ai_responses "
                "WHERE ticket_id = %s",
                (ticket["id"],),
            ).fetchall()
            status = conn.execute(
                "SELECT status::text FROM tickets WHERE id = %s", (ticket["id"],)
            ).fetchone()["status"]
        assert len(rows) == 1 and rows[0]["decision"] == "escalated"
        assert rows[0]["handoff_reason"] == "model_failure" and "503" in rows[0]["error"]
        assert status == "open"
        assert len(llm_server.requests) >= tasks.AUTO_RESPOND_ATTEMPTS
    finally:
        pool.close()
