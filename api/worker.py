"""The worker entry: build the shared resources once, then run the queue's worker loop under a
supervisor that rides out database restarts.

procrastinate's worker stops as soon as one of its side tasks (the LISTEN connection, the heartbeat)
loses the database ("Side task listener failed with exception: Database error, stopping worker").
The supervisor runs it again, after an exponential backoff with jitter (capped), logging one line
per attempt, until the database answers; it never exits on a lost connection. SIGTERM/SIGINT stop it
at any point: a running worker finishes its jobs first, a backoff wait ends at once; a second
signal has the default effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import signal
import threading
from dataclasses import dataclass
from typing import Any

import procrastinate
import psycopg

from autocrm.api import tasks
from autocrm.api.tasks import is_connection_error
from autocrm.core.settings import Settings
from autocrm.db.connect import CONNECT_TIMEOUT_S
from autocrm.pipeline.embedder import Embedder
from autocrm.pipeline.resources import open_resources

log = logging.getLogger("autocrm.worker")
QUEUES = ["auto", "kb"]
WORKER_NAME = "worker"
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_worker(
    settings: Settings,
    *,
    concurrency: int = 2,
    once: bool = False,
    embedder: Embedder | None = None,
) -> None:
    """Process jobs until stopped (or, with ``once``, until the queue has nothing runnable)."""
    with open_resources(settings, embedder=embedder, min_size=1, max_size=concurrency + 2) as res:
        options: dict[str, Any] = {
            "queues": QUEUES,
            "name": WORKER_NAME,
            "concurrency": concurrency,
            "wait": not once,
            "install_signal_handlers": False,  # the supervisor's own: see supervise()
            "update_heartbeat_interval": tasks.HEARTBEAT_INTERVAL_S,
            "stalled_worker_timeout": tasks.STALLED_WORKER_S,
            # Every job's JobContext.additional_context: how tasks reach the resources.
            "additional_context": tasks.job_context(res),
        }
        asyncio.run(
            supervise(
                tasks.build_queue(res.url),
                url=res.url,
                options=options,
                handle_signals=threading.current_thread() is threading.main_thread(),
            )
        )


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: attempt n waits uniform(base, min(cap, base * 2**n))."""

    base_s: float = 1.0
    cap_s: float = 30.0
    # A worker that ran this long before it lost the database starts again from the base delay.
    reset_after_s: float = 60.0

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap_s, self.base_s * 2 ** max(attempt - 1, 0))
        return random.uniform(min(self.base_s, ceiling), ceiling)


async def supervise(
    app: procrastinate.App,
    *,
    url: str,
    options: dict[str, Any],
    handle_signals: bool = True,
    backoff: Backoff = Backoff(),  # noqa: B008 (frozen)
) -> None:
    """Run procrastinate's worker until a signal (or, ``wait=False``, an empty queue); after a lost
    database connection, run it again after a backoff. Errors that are not about the connection
    propagate (a bug must not spin quietly)."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    current: asyncio.Task[None] | None = None

    def on_signal() -> None:
        stopping.set()
        for sig in SIGNALS:  # a second signal: the default effect
            loop.remove_signal_handler(sig)
        if current is not None:
            current.cancel()  # procrastinate's worker stops gracefully when cancelled

    if handle_signals:
        for sig in SIGNALS:
            loop.add_signal_handler(sig, on_signal)
    connection_logs = _ConnectionLossLogs()
    # A filter applies to the records of its own logger only (not of its children).
    loggers = [
        logging.getLogger(name)
        for name in (
            f"procrastinate.worker.{options.get('name', 'worker')}",
            *connection_logs.LOGGERS,
        )
    ]
    for logger in loggers:
        logger.addFilter(connection_logs)
    attempt = 0
    try:
        while not stopping.is_set():
            started = loop.time()
            connection_logs.error = None
            current = asyncio.create_task(_run_once(app, url=url, options=options))
            try:
                await current
            except asyncio.CancelledError:
                if stopping.is_set():
                    return
                raise
            except Exception as exc:
                if stopping.is_set():
                    return  # stopped while the database was away: nothing to unregister
                if not is_connection_error(exc):
                    raise
                reason = describe_connection_error(exc)
            else:
                if stopping.is_set() or not options.get("wait", True):
                    return
                # procrastinate's worker returns by itself only after a side task failed.
                lost = connection_logs.error
                reason = describe_connection_error(lost) if lost else "the worker stopped by itself"
            if loop.time() - started > backoff.reset_after_s:
                attempt = 0
            attempt += 1
            delay = backoff.delay(attempt)
            log.warning("%s; reconnecting in %.1f s (attempt %d)", reason, delay, attempt)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=delay)
    finally:
        for logger in loggers:
            logger.removeFilter(connection_logs)
        if handle_signals and not stopping.is_set():
            for sig in SIGNALS:
                loop.remove_signal_handler(sig)


async def _run_once(app: procrastinate.App, *, url: str, options: dict[str, Any]) -> None:
    # One quick connection first: the pool would retry for 30 s before it admits the server is
    # down, and the backoff is the supervisor's to decide.
    conn = await psycopg.AsyncConnection.connect(url, connect_timeout=CONNECT_TIMEOUT_S)
    await conn.close()
    async with app.open_async():
        await app.run_worker_async(**options)


def describe_connection_error(exc: BaseException) -> str:
    inner: BaseException = exc
    while inner.__cause__ is not None:
        inner = inner.__cause__
    text = str(inner).strip().splitlines()
    return f"database connection lost ({type(inner).__name__}: {text[0] if text else 'no detail'})"


class _ConnectionLossLogs(logging.Filter):
    """A lost connection, as procrastinate and asyncio log it: an ERROR with a traceback from the
    side task that noticed it, the same again when the worker cancels its side tasks, and, for a
    job whose status update was lost, asyncio's "Task exception was never retrieved". The
    supervisor's one line says the first two (the error is kept for it); the third becomes one line.
    Anything else passes untouched."""

    LOGGERS = ("procrastinate.worker", "procrastinate.utils", "asyncio")

    def __init__(self) -> None:
        super().__init__()
        self.error: BaseException | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or not is_connection_error(exc):
            return True
        action = str(getattr(record, "action", ""))
        if action == "side_task_failed":
            self.error = exc
            return False
        if record.name == "procrastinate.utils" and action.endswith("_error"):
            return False  # the failed side task again, from the worker's shutdown
        job = re.search(r"name='process job ([^']+)'", record.getMessage())
        if record.name == "asyncio" and job:
            record.msg = "job %s: its status update was lost with the database; it is retried once its worker has no heartbeat for %g s"
            record.args = (job.group(1), tasks.STALLED_WORKER_S)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True
