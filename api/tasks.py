"""Background jobs on a Postgres-backed queue (procrastinate): the auto-responder, re-embedding of
published articles, and a sweeper that makes sure no new ticket is ever left without a response.

Exactly one auto-response per ticket, whatever happens: duplicated events are folded by the queueing
lock (one waiting job per ticket), and the unique index on ai_responses(ticket_id) for auto-replies
is the final word when several workers or retries race.

Nothing stays in ``doing`` for ever: every worker records a heartbeat in ``procrastinate_workers``
(every HEARTBEAT_INTERVAL_S), and ``retry_stalled_jobs`` puts back in the queue the jobs of a worker
whose heartbeat is older than STALLED_WORKER_S (killed with -9, its machine gone, or its status
update lost with the database); a retried job that had in fact finished is folded by the above.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache

import procrastinate
import psycopg
from procrastinate import Blueprint, JobContext, RetryStrategy
from procrastinate.jobs import Status
from procrastinate.sync_psycopg_connector import SyncPsycopgConnector

from autocrm.db.connect import CONNECT_TIMEOUT_S
from autocrm.pipeline.answer import AlreadyAnswered, answer_ticket, record_failure
from autocrm.pipeline.chat import ChatModelError
from autocrm.pipeline.resources import Resources

log = logging.getLogger("autocrm.worker")
tasks = Blueprint()
AUTO_RESPOND_ATTEMPTS = 4
# Worker liveness (procrastinate_workers.last_heartbeat). A worker that has not beaten for
# STALLED_WORKER_S is dead: its jobs are retried, it is pruned, and /readyz stops counting it.
HEARTBEAT_INTERVAL_S = 5.0
STALLED_WORKER_S = 20.0
# A job whose worker died this many times is failed rather than retried again: a job that kills
# its worker (out of memory, a native crash) must not take every worker down in turn, for ever.
STALLED_RETRY_LIMIT = 5
QUEUE_POOL_WAIT_S = 2.0

# New tickets that have no auto-response and no waiting job: picked up by the sweeper.
UNANSWERED = """
SELECT t.id FROM tickets t
 WHERE t.status = 'new' AND t.created_at < now() - interval '20 seconds'
   AND NOT EXISTS (SELECT 1 FROM ai_responses r WHERE r.ticket_id = t.id AND r.kind = 'auto_reply')
 ORDER BY t.created_at LIMIT 200
"""


RESOURCES_KEY = "resources"


def job_context(resources: Resources) -> dict[str, object]:
    """The worker's ``additional_context``: procrastinate copies it into every job's
    ``JobContext``, where the tasks find the resources (``job_resources``)."""
    return {RESOURCES_KEY: resources}


def job_resources(context: JobContext) -> Resources:
    """The resources the worker entry built, from the job's context."""
    resources = context.additional_context.get(RESOURCES_KEY)
    if resources is None:
        raise RuntimeError(
            "worker resources not in the job context (start the worker with `autocrm worker`)"
        )
    return resources


def build_queue(url: str) -> procrastinate.App:
    """The App for a database (one per process and URL). The module's tasks, and so the enqueue
    helpers below, defer through the App returned last."""
    app = _queue_for(url)
    for task in set(tasks.tasks.values()):
        task.blueprint = app  # what add_tasks_from does, also for an App built earlier
    return app


@cache
def _queue_for(url: str) -> procrastinate.App:
    # connect_timeout and a short wait for a pooled connection (queries here take milliseconds):
    # with the database away, a worker's attempt fails fast and its supervisor backs off
    # (api.worker), an enqueue fails fast and is retried once (_defer_across_restart), instead of
    # hanging in connect() or for the pool's default 30 s. The pools check connections before
    # lending them (procrastinate sets check=), so none is dead after a database restart.
    connector = procrastinate.PsycopgConnector(
        conninfo=url, timeout=QUEUE_POOL_WAIT_S, kwargs={"connect_timeout": CONNECT_TIMEOUT_S}
    )
    app = procrastinate.App(connector=connector)
    if not any(name.startswith("autocrm:") for name in tasks.tasks):  # the first App built
        app.add_tasks_from(tasks, namespace="autocrm")
        return app
    # Another database in this process (tests, evals): add_tasks_from again would prefix the names
    # once more (autocrm:autocrm:…), queueing jobs no worker knows. Register them as they are.
    app.tasks.update(tasks.tasks)
    for periodic in tasks.periodic_registry.periodic_tasks.values():
        app.periodic_registry.register_task(
            task=periodic.task,
            cron=periodic.cron,
            periodic_id=periodic.periodic_id,
            configure_kwargs=periodic.configure_kwargs,
        )
    return app


@tasks.task(
    name="auto_respond",
    queue="auto",
    pass_context=True,
    retry=RetryStrategy(
        max_attempts=AUTO_RESPOND_ATTEMPTS,
        exponential_wait=2,
        # A database restart under a running job: retried in 2, 4, 8 s (when the job's own status
        # update is lost too, retry_stalled_jobs takes over; the sweeper after the last attempt).
        retry_exceptions={ChatModelError, psycopg.OperationalError},
    ),
)
def auto_respond(context: JobContext, ticket_id: str) -> str:
    """Triage then answer/draft/hand off one new ticket."""
    res = job_resources(context)
    final_attempt = context.job.attempts + 1 >= AUTO_RESPOND_ATTEMPTS
    with res.connection() as conn:
        triage_ticket(conn, ticket_id=ticket_id, res=res)
        try:
            result = answer_ticket(
                conn,
                ticket_id=ticket_id,
                kind="auto_reply",
                embedder=res.embedder,
                chat_model=res.chat_model,
                settings=res.settings,
            )
        except AlreadyAnswered:
            return "already answered"
        except ChatModelError as exc:
            if not final_attempt:
                raise  # retried with backoff
            record_failure(conn, ticket_id=ticket_id, error=str(exc), settings=res.settings)
            return "model failure: handed off"
    return result.decision.action.value


def triage_ticket(conn, *, ticket_id: str, res: Resources) -> None:
    from autocrm.pipeline import triage

    row = conn.execute(
        "SELECT subject, description, category, priority::text AS priority, tags, "
        "language, ai_analysis FROM tickets WHERE id = %s",
        (ticket_id,),
    ).fetchone()
    if row is None or row["ai_analysis"]:
        return  # gone, or already triaged (a retry)
    analysis = triage.analyse_ticket(
        conn,
        subject=row["subject"],
        description=row["description"],
        embedder=res.embedder,
        chat_model=res.chat_model,
    )
    routing = triage.route_ticket(
        conn,
        category=row["category"] or analysis.category,
        priority=analysis.priority,
        tags=row["tags"],
        language=analysis.language,
    )
    triage.apply_triage(conn, ticket_id=ticket_id, analysis=analysis, routing=routing)


@tasks.task(name="reembed_articles", queue="kb", pass_context=True)
def reembed_articles(context: JobContext) -> str:
    """Re-chunk and re-embed articles edited or published in the app (`ingest --from-db`)."""
    from autocrm.ingest.job import ingest

    res = job_resources(context)
    with res.connection() as conn:
        report = ingest(
            conn,
            source_path=None,
            from_db=True,
            embedder=res.embedder,
            chunking=res.settings.chunking,
        )
    return f"{report.new} new, {report.updated} updated"


@tasks.periodic(cron="* * * * *", periodic_id="sweep")
@tasks.task(name="sweep_unanswered", queue="auto", pass_context=True)
def sweep_unanswered(context: JobContext, timestamp: int) -> int:
    """Safety net: enqueue any new ticket whose event was lost (crash between commit and defer)."""
    res = job_resources(context)
    with res.pool.connection() as conn:
        ids = [str(r["id"]) for r in conn.execute(UNANSWERED)]
    return sum(enqueue_auto_response(ticket_id=i) for i in ids)


@tasks.periodic(cron="* * * * * */15", periodic_id="retry-stalled")  # 6th field: seconds
@tasks.task(
    name="retry_stalled_jobs", queue="auto", queueing_lock="retry-stalled", pass_context=True
)
async def retry_stalled_jobs(context: JobContext, timestamp: int) -> str:
    """Put back in the queue the ``doing`` jobs of workers with no heartbeat for STALLED_WORKER_S
    (procrastinate's stalled-job recipe). One run per tick across all workers (a periodic job), so
    two retriers never race on the same job."""
    manager = context.app.job_manager
    stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_WORKER_S)
    retried = failed = 0
    for job in stalled:
        if job.id == context.job.id:
            continue
        try:
            if job.attempts + 1 >= STALLED_RETRY_LIMIT:
                await manager.finish_job(job=job, status=Status.FAILED, delete_job=False)
                failed += 1
            else:
                await manager.retry_job(job)
                retried += 1
        except procrastinate.exceptions.ConnectorException:
            continue  # it finished (or was retried) since we listed it
        log.warning(
            "job %s %s of worker %s: no heartbeat for %.0f s; %s",
            job.id,
            job.task_name,
            job.worker_id,
            STALLED_WORKER_S,
            "failed (retry limit)" if job.attempts + 1 >= STALLED_RETRY_LIMIT else "retried",
        )
    return f"{retried} retried, {failed} failed"


def enqueue_auto_response(*, ticket_id: str) -> bool:
    """Queue the auto-responder for a ticket; a duplicate event while one waits is a no-op."""
    configured = auto_respond.configure(queueing_lock=f"auto:{ticket_id}")
    try:
        _defer_across_restart(lambda: configured.defer(ticket_id=str(ticket_id)))
    except procrastinate.exceptions.AlreadyEnqueued:
        return False
    return True


def _defer_across_restart(defer: Callable[[], int]) -> int:
    """Defer; after a database restart, once more with the queue's dead connections dropped.

    The API defers through procrastinate's own (sync) pool, whose idle connections all die with the
    server; psycopg_pool tries them one at a time with growing pauses (1, 2, 4 s) and gives up at
    its timeout. Checking them all at once replaces the dead ones, and the retry gets a live one."""
    try:
        return defer()
    except procrastinate.exceptions.ConnectorException as exc:
        if isinstance(exc, procrastinate.exceptions.UniqueViolation) or not is_connection_error(
            exc
        ):
            raise
        connector = auto_respond.blueprint.connector.get_sync_connector()  # type: ignore[union-attr]
        if not isinstance(connector, SyncPsycopgConnector):
            raise  # in a worker: its supervisor reconnects
        connector.pool.check()
        return defer()


def is_connection_error(exc: BaseException) -> bool:
    """A lost or refused database connection, however wrapped (procrastinate's ConnectorException
    carries the psycopg error as its cause)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, psycopg.OperationalError | psycopg.InterfaceError | OSError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# /readyz: how many workers beat recently, and how long ago the last heartbeat of any was.
WORKER_HEARTBEATS = """
SELECT count(*) FILTER (WHERE last_heartbeat > now() - make_interval(secs => %(stale)s)) AS alive,
       extract(epoch FROM now() - max(last_heartbeat))::float8 AS last_s
  FROM procrastinate_workers
"""


def worker_heartbeat(conn: psycopg.Connection) -> str:
    """ "ok" when a worker has beaten in the last STALLED_WORKER_S, else what is wrong, in words."""
    row = conn.execute(WORKER_HEARTBEATS, {"stale": STALLED_WORKER_S}).fetchone()
    if row["alive"]:
        return "ok"
    if row["last_s"] is None:
        return "no worker heartbeat: no worker registered"
    return f"no worker heartbeat for {row['last_s']:.0f} s"


def enqueue_reembed() -> bool:
    configured = reembed_articles.configure(queueing_lock="reembed")
    try:
        _defer_across_restart(configured.defer)
    except procrastinate.exceptions.AlreadyEnqueued:
        return False
    return True


# Feedback loop ----------------------------------------------------------------------------------
# Both run on the "kb" queue, which every worker already serves: maintenance, never urgent.


@tasks.periodic(cron="*/5 * * * *", periodic_id="feedback-signals")
@tasks.task(
    name="derive_feedback_signals", queue="kb", queueing_lock="feedback-signals", pass_context=True
)
def derive_feedback_signals(context: JobContext, timestamp: int) -> str:
    """Implicit signals (replied again, reopened, deflected, first response), then rescore the
    responses with new feedback, filling in embedding similarities of edited replies."""
    from datetime import UTC, datetime, timedelta

    from autocrm.pipeline.feedback import derive_implicit_signals
    from autocrm.pipeline.scoring import score_responses

    res = job_resources(context)
    now = datetime.fromtimestamp(timestamp, UTC)
    with res.connection() as conn:
        added = derive_implicit_signals(conn, now=now)
        # A day back, not five minutes: a job that was down for a while catches up.
        scored = score_responses(conn, since=now - timedelta(days=1), embedder=res.embedder)
    return ", ".join(f"{n} {signal}" for signal, n in added.items()) + f"; {scored} scored"


@tasks.periodic(cron="*/15 * * * *", periodic_id="refresh-ai-views")
@tasks.task(
    name="refresh_ai_views", queue="kb", queueing_lock="refresh-ai-views", pass_context=True
)
def refresh_ai_views(context: JobContext, timestamp: int) -> str:
    """REFRESH … CONCURRENTLY the AI effectiveness and team performance views."""
    from autocrm.pipeline.feedback import refresh_effectiveness_views

    res = job_resources(context)
    with res.connection() as conn:
        refresh_effectiveness_views(conn)
    return "refreshed"


@tasks.periodic(cron="17 * * * *", periodic_id="prune-embedding-cache")
@tasks.task(
    name="prune_embedding_cache",
    queue="kb",
    queueing_lock="prune-embedding-cache",
    pass_context=True,
)
def prune_embedding_cache(context: JobContext, timestamp: int) -> str:
    """Hourly: drop cached query vectors past their TTL (pipeline/embedding_cache.py)."""
    from autocrm.pipeline.embedding_cache import prune

    res = job_resources(context)
    with res.connection() as conn:
        return f"{prune(conn)} pruned"
