"""``autocrm suggest``, ``autocrm ask`` and ``autocrm worker``: the answer pipeline from a shell."""

from __future__ import annotations

from uuid import UUID

import typer

from autocrm.cli.context import open_db
from autocrm.core.settings import Settings


def _print_answer(*, decision, query: str, chunks: list, text: str) -> None:
    reason = f" ({decision.reason.value})" if decision.reason else ""
    typer.echo(f"decision: {decision.action.value}{reason}   confidence: {decision.confidence:.2f}")
    if decision.reason != "needs_clarification":  # nothing to search for: no passages either
        typer.echo(f"query: {query[:200]}")
        typer.echo("retrieved: " + ", ".join(f"{c.external_id} ({c.score:.3f})" for c in chunks))
    typer.echo("\n" + text)


def suggest(ticket_id: str = typer.Argument(..., help="ticket UUID")) -> None:
    """Draft a suggested reply for a ticket, store it, and print it with citations.

    Example: autocrm suggest 99999999-0000-4000-8000-000000000010
    """
    from autocrm.pipeline.answer import answer_ticket
    from autocrm.pipeline.chat import build_chat_model
    from autocrm.pipeline.embedder import build_embedder

    try:
        UUID(ticket_id)
    except ValueError as exc:
        raise typer.BadParameter(f"{ticket_id!r} is not a ticket id (a UUID)") from exc
    settings = Settings()
    embedder, chat = build_embedder(settings), build_chat_model(settings)
    with open_db(settings) as conn:
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
    from autocrm.pipeline.chat import build_chat_model
    from autocrm.pipeline.drafting import final_text
    from autocrm.pipeline.embedder import build_embedder
    from autocrm.pipeline.query import Turn

    settings = Settings()
    embedder, chat = build_embedder(settings), build_chat_model(settings)
    with open_db(settings) as conn:
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
    once: bool = typer.Option(False, "--once", help="exit when the queue is empty"),
) -> None:
    """Run the background worker: auto-responder, re-embedding, the unanswered-ticket sweeper.

    Example: autocrm worker --concurrency 4
    """
    from autocrm.api.worker import run_worker

    settings = Settings()
    open_db(settings).close()  # schema current, pgvector present: fail fast with a clear message
    run_worker(settings, concurrency=concurrency, once=once)
