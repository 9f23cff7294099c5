"""`autocrm worker --once` says what it did: the jobs it ran by task, and the failures."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from autocrm.db.connect import connect
from tests.builders import make_ticket

AUTOCRM = str(Path(sys.executable).parent / "autocrm")
ETHAN = "22222222-0000-4000-8000-000000000006"
SUMMARY = re.compile(r"^worker: (\d+) job\(s\) run; (\d+) done \(([^)]*)\)$", re.MULTILINE)


def worker_once(url: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOCRM_")}
    env |= {"AUTOCRM_DATABASE_URL": url, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [AUTOCRM, "worker", "--once"], env=env, capture_output=True, text=True, timeout=240
    )


def test_worker_once_reports_the_jobs_it_ran_by_task(queue_db: str) -> None:
    from autocrm.api import tasks

    with connect(queue_db, autocommit=True) as conn:
        ticket = make_ticket(conn, customer_id=ETHAN, subject="How do I reset my password?")
        # The seed's unanswered tickets are the sweeper's once 20 s old: old already, so the first
        # run sweeps them whenever it starts (had they come of age between the two runs, the
        # second would answer them, and "nothing left" would depend on the machine's speed).
        conn.execute(
            "UPDATE tickets SET created_at = now() - interval '1 hour' "
            "WHERE status = 'new' AND id <> %s",
            (ticket["id"],),
        )
    with tasks.build_queue(queue_db).open():
        assert tasks.enqueue_auto_response(ticket_id=str(ticket["id"]))
    result = worker_once(queue_db)
    assert result.returncode == 0, result.stdout + result.stderr
    match = SUMMARY.search(result.stdout)
    assert match, result.stdout
    run, done, detail = int(match[1]), int(match[2]), match[3]
    per_task = dict(item.rsplit(" ", 1) for item in detail.split(", "))
    assert run == done == sum(int(n) for n in per_task.values())
    assert int(per_task["auto_respond"]) >= 1  # ours (the sweeper may add the seed's old ones)
    with connect(queue_db, autocommit=True) as conn:
        finished = conn.execute(
            "SELECT count(*) AS n FROM procrastinate_jobs WHERE status = 'succeeded' "
            "AND task_name = 'autocrm:auto_respond'"
        ).fetchone()["n"]
    assert int(per_task["auto_respond"]) == finished

    again = worker_once(queue_db)  # nothing left: it says so, in one line
    assert again.returncode == 0, again.stdout + again.stderr
    lines = again.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("worker: "), again.stdout
    assert "auto_respond" not in lines[0]
