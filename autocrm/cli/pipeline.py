"""``autocrm suggest``, ``autocrm ask`` and ``autocrm worker``: the answer pipeline from a shell."""

from __future__ import annotations

import logging
from collections import Counter

import typer

from autocrm.cli.context import open_db
from autocrm.core.errors import InvalidInput
from autocrm.core.settings import Settings

NOTHING_RETRIEVED = "nothing: no published article matches"
KB_EMPTY = "SELECT NOT EXISTS (SELECT 1 FROM kb_chunks) AS empty"
EMPTY_KB = (
    "the knowledge base is empty: `autocrm ingest ./help-centre/` fills it (Markdown/HTML "
    "files or a .json/.jsonl export), or `autocrm demo` loads the demo's"
)


def _print_answer(*, decision, query: str, chunks: list, text: str) -> None:
    reason = (
        f" ({decision.reason.value})"
        if decision.reason
        else f" (held back: {decision.held_back})"
        if decision.held_back
        else ""
    )
    typer.echo(f"decision: {decision.action.value}{reason}   confidence: {decision.confidence:.2f}")
    if decision.reason != "needs_clarification":  # nothing to search for: no passages either
        typer.echo(f"query: {query[:200]}")
        retrieved = ", ".join(f"{c.external_id} ({c.score:.3f})" for c in chunks)
        typer.echo(f"retrieved: {retrieved or NOTHING_RETRIEVED}")
    typer.echo("\n" + text)


def suggest(
    ticket: str = typer.Argument(
        ...,
        help="the ticket's number (24 or #24) or id (a UUID); `autocrm tickets list` shows them",
    ),
) -> None:
    """Draft a reply for a ticket, store it as an internal draft, print it with its citations.

    Prints the decision and confidence, the query and the passages retrieved, then the draft.

    Example: autocrm suggest 24
    """
    from autocrm.cli.tickets import resolve_ticket
    from autocrm.pipeline.answer import answer_ticket
    from autocrm.pipeline.resources import build_models

    settings = Settings()
    with open_db(settings) as conn:
        ticket_id = resolve_ticket(conn, ref=ticket)  # before the model loads: fail fast
        if conn.execute(KB_EMPTY).fetchone()["empty"]:
            raise InvalidInput(EMPTY_KB)
        embedder, chat = build_models(settings)
        result = answer_ticket(
            conn,
            ticket_id=ticket_id,
            kind="suggestion",
            embedder=embedder,
            chat_model=chat,
            settings=settings,
        )
    _print_answer(
        decision=result.decision, query=result.query, chunks=result.chunks, text=result.text
    )
    typer.echo(f"\nstored as an internal draft (AI response {result.response_id}); not sent")


def ask(
    question: str = typer.Argument(..., help="a question, as a customer would ask it"),
    internal: bool = typer.Option(False, "--internal", help="also use internal articles"),
    after: list[str] = typer.Option(
        [], "--after", help="an earlier customer message of the thread (repeatable, oldest first)"
    ),
) -> None:
    """Retrieve and draft an answer against the knowledge base (nothing is stored).

    Example: autocrm ask "How do I reset my password?"
    Example: autocrm ask "and on Business?" --after "What is the API rate limit on Team?"
    """
    from autocrm.pipeline.answer import prepare_answer
    from autocrm.pipeline.drafting import final_text
    from autocrm.pipeline.query import Turn
    from autocrm.pipeline.resources import build_models

    settings = Settings()
    with open_db(settings) as conn:  # first: a database that is not ready fails before the model
        if conn.execute(KB_EMPTY).fetchone()["empty"]:
            raise InvalidInput(EMPTY_KB)
        embedder, chat = build_models(settings)
        prepared = prepare_answer(
            conn,
            subject="",
            description="",
            thread=[*(Turn("customer", text) for text in after), Turn("customer", question)],
            customer_name=None,
            kind="suggestion" if internal else "auto_reply",
            embedder=embedder,
            chat_model=chat,
            settings=settings,
        )
    _print_answer(
        decision=prepared.decision,
        query=prepared.query,
        chunks=prepared.chunks,
        text=final_text(prepared.draft),
    )


def worker(
    concurrency: int = typer.Option(2, min=1, help="jobs run at once"),
    once: bool = typer.Option(
        False, "--once", help="run what is queued, say what was done, and exit"
    ),
) -> None:
    """Run the background worker: auto-responder, re-embedding, feedback signals, sweeper.

    Runs until stopped (Ctrl-C). With --once it works through the queue, prints the jobs it ran
    by task and the failures, and exits (status 1 if a job failed).

    Example: autocrm worker --concurrency 4
    Example: autocrm worker --once
    """
    from autocrm.api.worker import run_worker

    settings = Settings()
    open_db(settings).close()  # schema current, pgvector present: fail fast with a clear message
    if not once:
        run_worker(settings, concurrency=concurrency, once=False)
        return
    with JobTally() as tally:
        run_worker(settings, concurrency=concurrency, once=True)
    typer.echo(tally.summary())
    if tally.failed:
        raise typer.Exit(1)


class JobTally(logging.Handler):
    """Counts the jobs this process's worker finished, by task and outcome, from the job-outcome
    records procrastinate's worker logs (``action`` job_success, job_error, ...)."""

    OUTCOMES = {
        "job_success": "done",
        "job_error": "failed",
        "job_error_retry": "failed, to retry",
        "job_aborted": "aborted",
        "job_aborted_retry": "aborted, to retry",
    }

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.counts: Counter[tuple[str, str]] = Counter()
        self._logger = logging.getLogger("procrastinate.worker")
        self._level = self._logger.level

    def __enter__(self) -> JobTally:
        self._logger.addHandler(self)
        if self._logger.getEffectiveLevel() > logging.INFO:
            self._logger.setLevel(logging.INFO)  # INFO is not printed: root has no such handler
        return self

    def __exit__(self, *exc: object) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._level)

    def emit(self, record: logging.LogRecord) -> None:
        outcome = self.OUTCOMES.get(getattr(record, "action", ""))
        job = getattr(record, "job", None)
        if outcome and isinstance(job, dict):
            task = str(job.get("task_name", "?")).removeprefix("autocrm:")
            self.counts[(outcome, task)] += 1

    @property
    def failed(self) -> int:
        return sum(n for (outcome, _), n in self.counts.items() if outcome != "done")

    def summary(self) -> str:
        """One or two lines: what ran, and what failed (or that the queue was empty)."""
        if not self.counts:
            return (
                "worker: the queue was empty, nothing to run (creating a ticket through the API "
                "queues its auto-reply; `autocrm tickets list` shows what the AI did)"
            )
        lines = []
        for outcome in dict.fromkeys(self.OUTCOMES.values()):
            tasks = {t: n for (o, t), n in sorted(self.counts.items()) if o == outcome}
            if tasks:
                detail = ", ".join(f"{t} {n}" for t, n in tasks.items())
                lines.append(f"{sum(tasks.values())} {outcome} ({detail})")
        done = sum(n for (o, _), n in self.counts.items() if o == "done")
        head = f"worker: {done + self.failed} job(s) run; " + "; ".join(lines)
        if self.failed:
            head += (
                "\nfailed jobs are logged above; those 'to retry' run again on a later "
                "`autocrm worker` once their retry time has come"
            )
        return head
