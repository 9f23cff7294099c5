"""The worker and the API ride out database restarts (issue 14, item 1).

- A restart of the database under load, with two `autocrm worker` processes and the API running,
  on an embedded server of the test's own (the session's server is everybody's): the workers keep
  running and reconnect by themselves, every ticket gets exactly one auto-response, no job is left
  in `doing`, /readyz goes not-ready and back, pools hand out no dead connection, SIGTERM stops a
  worker promptly whether the database is up or down.
- Stalled jobs (a worker killed with -9, or whose status update was lost): retried once their
  worker's heartbeat is old, answered once even when the dead worker had already answered.
- The supervisor: it backs off and tries again on connection errors, one log line per attempt;
  anything else propagates.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from autocrm.db import migrate
from autocrm.db.connect import connect, ensure_database, make_pool
from autocrm.db.server import APP_DATABASE, start_embedded, stop_embedded, with_database
from tests.api.conftest import LiveServer, auth_headers, make_ai_response, make_settings
from tests.builders import make_ticket
from tests.fakes import FakeEmbedder

ETHAN = "22222222-0000-4000-8000-000000000006"
QUESTIONS = [
    "How do I reset my password?",
    "What are the API rate limits on the Team plan?",
    "How do I export my data to CSV?",
    "Can I get a refund on my annual plan?",
    "How do I connect Slack notifications?",
    "Where do I find my invoices?",
]

AUTO_REPLIES = """
SELECT t.id,
       (SELECT count(*) FROM ai_responses r
         WHERE r.ticket_id = t.id AND r.kind = 'auto_reply') AS responses,
       (SELECT count(*) FROM conversations m
         WHERE m.ticket_id = t.id AND m.message_type = 'ai') AS ai_messages
  FROM tickets t WHERE t.id = ANY(%s)
"""


def worker_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOCRM_")}
    return env | {"AUTOCRM_DATABASE_URL": url, "HF_HUB_OFFLINE": "1"}


def autocrm(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "autocrm"), *args]


def wait_for(what: str, predicate: Callable[[], Any], *, timeout: float, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


# --- the restart under load -------------------------------------------------------------------


@dataclass
class OwnServer:
    pgdata: Path
    url: str  # the application database

    def stop(self) -> None:
        assert stop_embedded(self.pgdata)

    def start(self) -> None:
        assert with_database(start_embedded(self.pgdata), APP_DATABASE) == self.url


@pytest.fixture
def own_server(real_embedder) -> Iterator[OwnServer]:
    """An embedded server of this test's own, migrated, seeded, its KB embedded: the test stops it."""
    from tests.builders import embed_demo_kb

    root = Path(tempfile.mkdtemp(prefix="autocrm-restart-pg-"))
    root.chmod(0o755)  # the server runs as its own OS user when we are root
    pgdata = root / "pgdata"
    try:
        server_url = start_embedded(pgdata)
        ensure_database(server_url=server_url, name=APP_DATABASE)
        url = with_database(server_url, APP_DATABASE)
        with connect(url, autocommit=True) as conn:
            migrate.migrate(conn)
            migrate.seed(conn)
        embed_demo_kb(url, embedder=real_embedder)
        yield OwnServer(pgdata=pgdata, url=url)
    finally:
        stop_embedded(pgdata)
        shutil.rmtree(root, ignore_errors=True)


def start_worker(url: str, log_path: Path) -> subprocess.Popen:
    with log_path.open("w") as log:  # a file, not a pipe: nobody reads it while the test runs
        return subprocess.Popen(
            autocrm("worker", "--concurrency", "2"),
            env=worker_env(url),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )


def create_ticket(http, subject: str):
    return http.post(
        "/tickets",
        headers=auth_headers("customer"),
        json={"subject": subject, "description": subject},
    )


def stop_promptly(worker: subprocess.Popen, log_path: Path, *, within: float) -> None:
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=within)
    except subprocess.TimeoutExpired:
        worker.kill()
        raise AssertionError(
            f"SIGTERM did not stop the worker in {within:g} s:\n{log_path.read_text()[-3000:]}"
        ) from None
    assert worker.returncode == 0, log_path.read_text()[-3000:]
    assert time.monotonic() - started < within


def test_database_restart_under_load(own_server, keep_task_binding, tmp_path):
    from autocrm.api.app import create_app

    url = own_server.url
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    workers: list[subprocess.Popen] = []
    app = create_app(make_settings(url), embedder=FakeEmbedder())
    probe_pool = make_pool(url, min_size=4, max_size=4)
    try:
        with LiveServer(app) as live:
            import httpx

            http = httpx.Client(base_url=live.base_url, timeout=60)

            # No worker yet: the API is ready to serve, degraded; a whole-service monitor says 503.
            ready = http.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["status"] == "degraded"
            assert ready.json()["checks"]["worker"].startswith("no worker heartbeat"), ready.json()
            assert http.get("/readyz", params={"require_worker": "true"}).status_code == 503

            workers = [start_worker(url, log) for log in logs]

            def alive_workers() -> int:
                assert all(w.poll() is None for w in workers), [p.read_text() for p in logs]
                with connect(url, autocommit=True) as conn:
                    return conn.execute(
                        "SELECT count(*) AS n FROM procrastinate_workers "
                        "WHERE last_heartbeat > now() - interval '20 seconds'"
                    ).fetchone()["n"]

            wait_for("two worker heartbeats", lambda: alive_workers() >= 2, timeout=240)
            ready = http.get("/readyz", params={"require_worker": "true"})
            assert ready.status_code == 200 and ready.json()["status"] == "ready", ready.text

            # Load: tickets through the API (each queues its auto-responder after its commit).
            tickets = []
            for n in range(2):
                for question in QUESTIONS:
                    created = create_ticket(http, f"{question} ({n})")
                    assert created.status_code == 201, created.text
                    tickets.append(created.json()["id"])

            def answered(ids: list[str]) -> int:
                with connect(url, autocommit=True) as conn:
                    rows = conn.execute(AUTO_REPLIES, (ids,)).fetchall()
                return sum(1 for r in rows if r["responses"] >= 1)

            # Stop the database mid-way: the workers are answering.
            wait_for(
                "a first auto-response", lambda: answered(tickets) >= 1, timeout=120, every=0.1
            )
            own_server.stop()
            down_at = time.monotonic()

            down = http.get("/readyz")
            assert down.status_code == 503, down.text
            assert down.headers["content-type"].startswith("application/problem+json")
            assert down.json()["checks"]["database"].startswith("unreachable"), down.json()
            refused = create_ticket(http, "While the database is down")
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["type"].endswith("database-unavailable")
            time.sleep(max(0.0, 6 - (time.monotonic() - down_at)))
            assert all(w.poll() is None for w in workers), [p.read_text() for p in logs]

            # The same server again, on the same socket: nobody is told.
            own_server.start()

            # A pool checks its connections: every one it held died with the server; it drops them
            # all at the first failed check, and lends a live one within its wait (one by one, with
            # its pauses of 1, 2, 4 s, four dead connections would take longer than that).
            with probe_pool.connection() as conn:
                assert conn.execute("SELECT 1 AS one").fetchone()["one"] == 1

            # The API recovers by itself (its pool reconnects within seconds), then its requests
            # succeed and queue their jobs (the queue's own pool drops its dead connections).
            ready = wait_for(
                "/readyz to recover",
                lambda: (r := http.get("/readyz")).status_code == 200 and r,
                timeout=30,
            )
            assert ready.json()["checks"]["database"] == "ok"
            after = []
            for n, question in enumerate(QUESTIONS):
                created = create_ticket(http, f"{question} (after the restart {n})")
                assert created.status_code == 201, created.text
                after.append(created.json()["id"])
            with connect(url, autocommit=True) as conn:
                queued = conn.execute(
                    "SELECT count(*) AS n FROM procrastinate_jobs "
                    "WHERE task_name = 'autocrm:auto_respond' AND args->>'ticket_id' = ANY(%s)",
                    (after,),
                ).fetchone()["n"]
            assert queued == len(after)  # none left to the sweeper
            tickets += after

            def settled() -> bool:
                if answered(tickets) < len(tickets):
                    return False
                with connect(url, autocommit=True) as conn:
                    doing = conn.execute(
                        "SELECT count(*) AS n FROM procrastinate_jobs WHERE status = 'doing'"
                    ).fetchone()["n"]
                return doing == 0

            wait_for("every ticket answered, no job in doing", settled, timeout=180)

            with connect(url, autocommit=True) as conn:
                rows = conn.execute(AUTO_REPLIES, (tickets,)).fetchall()
            assert len(rows) == len(tickets) == 3 * len(QUESTIONS)
            for row in rows:
                assert (row["responses"], row["ai_messages"]) == (1, 1), row
            assert all(w.poll() is None for w in workers), [p.read_text() for p in logs]
            for log in logs:  # each went through the supervisor's reconnect, once or more
                text = log.read_text()
                assert "reconnecting in" in text, text[-3000:]
                # One line per attempt: no traceback, nor procrastinate's "Side task ... failed".
                assert "Traceback" not in text and "Side task" not in text, text[-3000:]
            wait_for("two worker heartbeats again", lambda: alive_workers() >= 2, timeout=60)
            ready = http.get("/readyz", params={"require_worker": "true"})
            assert ready.status_code == 200, ready.text
            assert ready.json() == {
                "status": "ready",
                "checks": {"database": "ok", "schema": "ok", "worker": "ok", "model": "ok"},
            }

            # SIGTERM stops a worker promptly with the database up (it unregisters)...
            stop_promptly(workers[1], logs[1], within=30)
            # ...and down, between two reconnection attempts.
            attempts = logs[0].read_text().count("reconnecting in")
            own_server.stop()
            wait_for(
                "worker A to notice the database is gone",
                lambda: logs[0].read_text().count("reconnecting in") > attempts,
                timeout=60,
            )
            stop_promptly(workers[0], logs[0], within=15)
            http.close()
    finally:
        probe_pool.close()
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


# --- stalled jobs -----------------------------------------------------------------------------


def run_stalled_retrier(url: str) -> str:
    """One run of the periodic retry_stalled_jobs, as a worker runs it."""
    from procrastinate import JobContext
    from procrastinate.jobs import Job

    from autocrm.api import tasks

    app = tasks.build_queue(url)

    async def run() -> str:
        async with app.open_async():
            job = Job(
                id=0,
                queue="auto",
                lock=None,
                queueing_lock="retry-stalled",
                task_name="autocrm:retry_stalled_jobs",
            )
            context = JobContext(
                app=app,
                job=job,
                worker_name="test",
                additional_context={},
                abort_reason=lambda: None,
                start_timestamp=time.time(),
            )
            return await tasks.retry_stalled_jobs(context, timestamp=int(time.time()))

    return asyncio.run(run())


def test_stalled_jobs_are_retried_and_answered_once(queue_db, keep_task_binding):
    """A dead worker (heartbeat 10 minutes old) left three jobs in `doing`: one whose ticket it
    never answered, one whose answer it committed before dying (its status update lost), one that
    has killed workers too often. A live worker's job is left alone."""
    from autocrm.api import tasks

    with connect(queue_db, autocommit=True) as conn:
        dead, live = conn.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) "
            "VALUES (now() - interval '10 minutes'), (now()) RETURNING id"
        ).fetchall()
        never, answered, poison, running = (
            str(make_ticket(conn, customer_id=ETHAN, subject=q, description=q)["id"])
            for q in QUESTIONS[:4]
        )
        make_ai_response(conn, ticket_id=answered, public=True, kind="auto_reply")
        queue = tasks.build_queue(queue_db)
        with queue.open():
            jobs = {t: tasks.auto_respond.defer(ticket_id=t) for t in (never, answered, poison)}
            jobs[running] = tasks.auto_respond.defer(ticket_id=running)
        conn.execute(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE id = ANY(%s)",
            (dead["id"], [jobs[never], jobs[answered], jobs[poison]]),
        )
        conn.execute(
            "UPDATE procrastinate_jobs SET attempts = %s WHERE id = %s",
            (tasks.STALLED_RETRY_LIMIT - 1, jobs[poison]),
        )
        conn.execute(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE id = %s",
            (live["id"], jobs[running]),
        )

    assert run_stalled_retrier(queue_db) == "2 retried, 1 failed"

    def statuses(conn: psycopg.Connection) -> dict[str, tuple[str, int]]:
        rows = conn.execute(
            "SELECT id, status::text AS status, attempts FROM procrastinate_jobs "
            "WHERE id = ANY(%s)",
            (list(jobs.values()),),
        ).fetchall()
        by_id = {r["id"]: (r["status"], r["attempts"]) for r in rows}
        return {ticket: by_id[job_id] for ticket, job_id in jobs.items()}

    with connect(queue_db, autocommit=True) as conn:
        assert statuses(conn) == {
            never: ("todo", 1),
            answered: ("todo", 1),
            poison: ("failed", tasks.STALLED_RETRY_LIMIT),  # finishing counts an attempt
            running: ("doing", 0),  # its worker beats: not stalled
        }
    # Nothing stalled any more: a second run retries nothing.
    assert run_stalled_retrier(queue_db) == "0 retried, 0 failed"

    worker = subprocess.run(
        autocrm("worker", "--once", "--concurrency", "2"),
        env=worker_env(queue_db),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert worker.returncode == 0, worker.stdout + worker.stderr
    with connect(queue_db, autocommit=True) as conn:
        rows = {
            str(r["id"]): (r["responses"], r["ai_messages"])
            for r in conn.execute(AUTO_REPLIES, ([never, answered],)).fetchall()
        }
        assert rows == {never: (1, 1), answered: (1, 1)}  # no second answer for the retried job
        done = statuses(conn)
        assert done[never][0] == done[answered][0] == "succeeded"


# --- the supervisor ---------------------------------------------------------------------------


def test_backoff_grows_with_jitter_and_is_capped():
    from autocrm.api.worker import Backoff

    backoff = Backoff(base_s=1.0, cap_s=30.0)
    for attempt in range(1, 12):
        ceiling = min(30.0, 2.0 ** (attempt - 1))
        delays = [backoff.delay(attempt) for _ in range(200)]
        assert all(1.0 <= d <= ceiling for d in delays), (attempt, min(delays), max(delays))
        if ceiling >= 4:
            assert max(delays) - min(delays) > ceiling / 4  # jittered, not one fixed delay
    assert max(backoff.delay(50) for _ in range(200)) <= 30.0


def test_connection_errors_are_told_apart():
    from procrastinate.exceptions import ConnectorException
    from psycopg_pool import PoolTimeout

    from autocrm.api.worker import is_connection_error

    def wrapped(inner: BaseException) -> ConnectorException:
        try:
            try:
                raise inner
            except psycopg.Error as exc:
                raise ConnectorException() from exc
        except ConnectorException as outer:
            return outer

    assert is_connection_error(wrapped(psycopg.OperationalError("server closed the connection")))
    assert is_connection_error(PoolTimeout("couldn't get a connection after 5.00 sec"))
    assert is_connection_error(ConnectionRefusedError())
    assert not is_connection_error(wrapped(psycopg.errors.UndefinedTable("no such table")))
    assert not is_connection_error(ValueError("a bug"))


def test_supervisor_keeps_trying_an_unreachable_database(caplog, keep_task_binding, server_url):
    """Never exits on a connection error: one log line per attempt, with growing attempt numbers,
    until stopped."""
    from autocrm.api import tasks
    from autocrm.api.worker import Backoff, supervise

    gone = Path(tempfile.mkdtemp(prefix="autocrm-gone-"))
    shutil.rmtree(gone)  # a socket directory that does not exist: every connect fails at once
    url = f"postgresql:///autocrm?host={gone}"
    app = tasks.build_queue(url)
    options = {"queues": ["auto"], "wait": True, "install_signal_handlers": False}

    async def run_for(seconds: float) -> None:
        task = asyncio.create_task(
            supervise(
                app,
                url=url,
                options=options,
                handle_signals=False,
                backoff=Backoff(base_s=0.01, cap_s=0.05),
            )
        )
        await asyncio.sleep(seconds)
        assert not task.done(), task.exception() if task.done() else None
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with caplog.at_level(logging.WARNING, logger="autocrm.worker"):
        asyncio.run(run_for(1.5))
    lines = [r.getMessage() for r in caplog.records if r.name == "autocrm.worker"]
    assert len(lines) >= 5, lines
    assert all("database connection lost" in line and "reconnecting in" in line for line in lines)
    assert [f"(attempt {n})" in line for n, line in enumerate(lines, 1)] == [True] * len(lines)


def test_supervisor_lets_other_errors_through(keep_task_binding, empty_db):
    """A reachable database and a bug (here, a bad worker option): raised, not retried."""
    from autocrm.api import tasks
    from autocrm.api.worker import supervise

    app = tasks.build_queue(empty_db)
    options = {"queues": ["auto"], "wait": True, "not_a_worker_option": 1}
    with pytest.raises(TypeError, match="not_a_worker_option"):
        asyncio.run(supervise(app, url=empty_db, options=options, handle_signals=False))
