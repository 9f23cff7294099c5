"""The feedback loop from a shell: ``report ai``, ``report gaps``, ``export learning``,
``kb propose`` and ``feedback sync``. Thin: parse arguments, call the library, print."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import typer

from autocrm.cli.context import open_db
from autocrm.core.errors import InvalidInput
from autocrm.core.periods import SINCE_HELP, parse_since
from autocrm.core.settings import Settings

report_app = typer.Typer(
    help="Reports on the AI: effectiveness and knowledge gaps.", no_args_is_help=True
)
export_app = typer.Typer(help="Export data for training and evaluation.", no_args_is_help=True)
feedback_app = typer.Typer(
    help="The feedback loop's scheduled work, on demand.", no_args_is_help=True
)


def since_option(text: str) -> datetime:
    """``--since`` as the user wrote it -> the start of the window (autocrm.core.periods)."""
    return parse_since(text, name="--since")


@report_app.command("ai")
def report_ai(
    since: str = typer.Option("30d", help=SINCE_HELP),
    out: Path = typer.Option(None, help="folder for the charts (default reports/ai-<date>/)"),
    refresh: bool = typer.Option(True, help="refresh the materialized views first"),
) -> None:
    """AI effectiveness: acceptance, edits, deflection, reopens, CSAT, escalations, latency.

    By day, team, category, model, prompt version and decision (score included); writes
    trend.png, by_category.png and effectiveness.csv.

    Example: autocrm report ai --since 30d --out reports/ai-november
    """
    from autocrm.pipeline.effectiveness import build_report, format_table

    start = since_option(since)
    out = out or Path("reports") / f"ai-{date.today().isoformat()}"
    with open_db(Settings()) as conn:
        report = build_report(conn, since=start.date(), out_dir=out, refresh=refresh)
    if not report.rows:
        typer.echo(
            f"no AI responses since {start.date()}: try a longer --since (e.g. 90d); responses "
            "are recorded when the worker auto-answers new tickets (`autocrm worker`) or an agent "
            "asks for a suggestion (`autocrm suggest <number>`)"
        )
        return
    typer.echo(format_table(report.summary, ["decision", *list(_metric_columns())]))
    typer.echo("")
    typer.echo(format_table(report.rows))
    typer.echo("\nwrote " + ", ".join(str(p) for p in report.charts))


def _metric_columns():
    from autocrm.pipeline.effectiveness import TABLE_COLUMNS

    skip = {"day", "team", "category", "model", "prompt_version", "decision"}
    return (c for c in TABLE_COLUMNS if c not in skip)


@report_app.command("gaps")
def report_gaps(
    since: str = typer.Option("30d", help=SINCE_HELP),
    min_size: int = typer.Option(
        1, min=1, help="smallest cluster listed (1: single tickets too, e.g. a one-off question)"
    ),
    similarity: float = typer.Option(0.55, min=0, max=1, help="cosine at which topics merge"),
    low_confidence: float = typer.Option(0.5, min=0, max=1, help="confidence counted as low"),
    examples: int = typer.Option(3, min=1, help="example tickets per cluster"),
    top: int = typer.Option(20, min=1, help="clusters shown"),
) -> None:
    """Knowledge gaps: tickets the AI could not answer well, clustered by topic, largest first.

    A ticket counts when one of its AI responses had low retrieval confidence, handed off for
    missing knowledge, or had its draft rejected (hand-offs a customer asked for, or that policy
    requires, do not count). Each cluster gets a suggested article title.

    Example: autocrm report gaps --since 14d --min-size 3
    """
    from autocrm.pipeline.embedder import build_embedder
    from autocrm.pipeline.gaps import find_gaps

    settings = Settings()
    start = since_option(since)
    with open_db(settings) as conn:
        embedder = build_embedder(settings)
        every = find_gaps(
            conn,
            embedder=embedder,
            since=start,
            low_confidence=low_confidence,
            similarity=similarity,
            min_size=1,
        )
    clusters = [c for c in every if c.size >= min_size]
    for line in gap_notes(every=every, shown=clusters, since=start, min_size=min_size):
        typer.echo(line)
    for rank, c in enumerate(clusters[:top], 1):
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(c.reasons.items()))
        typer.echo(
            f"{rank}. {c.title}  ({c.size} ticket{'s' if c.size > 1 else ''}: {reasons})  [{c.key}]"
        )
        for t in c.tickets[:examples]:
            typer.echo(f"     #{t.number} {t.subject[:90]}  ({t.status})")
    if len(clusters) > top:
        typer.echo(f"{len(clusters) - top} more cluster(s): --top {len(clusters)} lists them all")
    if clusters:
        typer.echo(
            "next: publish an article for a topic (then `autocrm ingest --from-db`), or "
            "`autocrm kb propose` to draft articles from the agents' replies"
        )


def gap_notes(*, every: list, shown: list, since: datetime, min_size: int) -> list[str]:
    """Why nothing (or not everything) is listed, and what to try."""
    if not every:
        return [
            f"no knowledge gaps since {since.date()}: no AI response since then had low "
            "confidence, a missing-knowledge hand-off or a rejected draft. Try a longer --since "
            "(e.g. 90d) or a higher --low-confidence; gaps appear as the worker answers tickets."
        ]
    hidden = len(every) - len(shown)
    if not hidden:
        return []
    smaller = f"{hidden} cluster(s) smaller than --min-size {min_size}"
    if not shown:
        return [f"no gap cluster of {min_size}+ tickets; {smaller}: --min-size 1 lists them"]
    return [f"({smaller} not listed: --min-size 1 lists them)"]


@export_app.command("learning")
def export_learning_command(
    since: str = typer.Option("30d", help=SINCE_HELP),
    fmt: str = typer.Option("jsonl", "--format", help="jsonl (full records) or chat (messages)"),
    out: Path = typer.Option(None, help="file to write (default: standard output)"),
    redact: bool = typer.Option(True, help="redact emails, phones, card numbers and addresses"),
    save: bool = typer.Option(False, "--save", help="also store the records in learning_examples"),
) -> None:
    """Export AI responses with their human outcome, for fine-tuning and new eval sets.

    One record per response: ticket thread, retrieved contexts, AI draft, final human reply,
    score. PII is redacted unless --no-redact.

    Example: autocrm export learning --since 30d --format jsonl --out learning.jsonl
    """
    from autocrm.pipeline.learning import export_learning

    if fmt not in ("jsonl", "chat"):
        raise InvalidInput("--format must be jsonl or chat")
    with open_db(Settings()) as conn:
        stream = out.open("w", encoding="utf-8") if out else sys.stdout
        try:
            n = export_learning(
                conn,
                since=since_option(since),
                out=stream,
                fmt=fmt,
                redact_pii=redact,
                save=save,
            )
        finally:
            if out:
                stream.close()
    typer.echo(f"{n} records" + (f" written to {out}" if out else ""), err=True)
    if not n:
        typer.echo(
            f"nothing to export: no scored or human-answered AI response since "
            f"{since_option(since).date()}; try a longer --since (e.g. 90d)",
            err=True,
        )


def kb_propose(
    since: str = typer.Option("30d", help=SINCE_HELP),
    min_size: int = typer.Option(2, min=1, help="smallest gap cluster to write an article for"),
    similarity: float = typer.Option(0.55, min=0, max=1, help="cosine at which topics merge"),
    duplicate: float = typer.Option(
        0.85, min=0, max=1, help="skip when an existing chunk is at least this similar"
    ),
) -> None:
    """Draft KB articles for knowledge gaps that humans solved, for review (never published).

    Saved as 'draft' articles (source 'proposals'); re-running updates the same drafts.

    Example: autocrm kb propose --since 30d
    """
    from autocrm.pipeline.gaps import find_gaps
    from autocrm.pipeline.proposals import propose_articles
    from autocrm.pipeline.resources import build_models

    settings = Settings()
    embedder, chat = build_models(settings)
    with open_db(settings) as conn:
        clusters = find_gaps(
            conn, embedder=embedder, since=since_option(since), similarity=similarity,
            min_size=min_size,
        )  # fmt: skip
        proposals = propose_articles(
            conn, clusters=clusters, embedder=embedder, chat_model=chat,
            duplicate_similarity=duplicate,
        )  # fmt: skip
    if not proposals:
        typer.echo(
            f"no knowledge gap of {min_size}+ tickets since {since_option(since).date()} to "
            "draft an article for: `autocrm report gaps` lists every gap; try --min-size 1 or a "
            "longer --since"
        )
    for p in proposals:
        typer.echo(f"{p.outcome:<11} {p.key}  {p.title}: {_describe(p)}")


def _describe(p) -> str:
    if p.outcome == "duplicate":
        return f"covered by '{p.similar_title}' (cosine {p.similarity:.2f})"
    if p.outcome == "no_solution":
        return f"none of its {p.tickets} tickets was solved by an agent yet"
    if p.outcome == "kept":
        return "a reviewer has this draft; left as is"
    return f"draft article {p.article_id} ({p.drafted_by}, {p.solved} solved tickets)"


@feedback_app.command("sync")
def feedback_sync(
    window_hours: float = typer.Option(24, min=0, help="reply window for replied_again/reopened"),
    rescore_all: bool = typer.Option(False, help="rescore every response of another score version"),
) -> None:
    """Run the scheduled feedback work now: signals, scores, the effectiveness views.

    Derives implicit signals, rescores responses (embedding similarity included) and refreshes
    the effectiveness views.

    Example: autocrm feedback sync --window-hours 48
    """
    from autocrm.pipeline.embedder import build_embedder
    from autocrm.pipeline.feedback import derive_implicit_signals, refresh_effectiveness_views
    from autocrm.pipeline.scoring import score_responses

    settings = Settings()
    embedder = build_embedder(settings)
    now = datetime.now(UTC)
    with open_db(settings) as conn:
        added = derive_implicit_signals(conn, now=now, reply_window_hours=window_hours)
        scored = score_responses(
            conn, since=now - timedelta(days=30), embedder=embedder, all_versions=rescore_all
        )
        refresh_effectiveness_views(conn)
    typer.echo(", ".join(f"{n} {s}" for s, n in added.items()) + f"; {scored} responses scored")
