"""``autocrm tickets …``, and the one way every command turns what a user typed (``24``, ``#24``
or a UUID) into a ticket id."""

from __future__ import annotations

import re
from uuid import UUID

import psycopg
import typer

from autocrm.cli.context import open_db
from autocrm.core.errors import InvalidInput, NotFound
from autocrm.core.settings import Settings

app = typer.Typer(
    help="Tickets: list them, with their numbers and what the AI did.", no_args_is_help=True
)

STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed")
LIST_HINT = "`autocrm tickets list` shows the tickets and their numbers"
HEADER = ("#", "status", "priority", "subject", "customer", "AI")
# Hand-off reasons in a table cell (the reports use the full names).
SHORT_REASONS = {
    "missing_knowledge": "no article",
    "human_requested": "human asked",
    "unsupported_request": "unsupported",
    "policy_restriction": "policy",
    "needs_clarification": "unclear",
    "model_failure": "model error",
}
# When the terminal is narrow, columns give up width in this order, down to these widths.
SHRINK = (("subject", 24), ("customer", 12), ("subject", 14), ("AI", 12), ("customer", 8))
_NUMBER = re.compile(r"^#?\s*(\d{1,18})$")

FIND_TICKET = """
SELECT t.id, t.number FROM tickets t
 WHERE t.id = %(id)s::uuid OR t.number = %(number)s::bigint
"""

# Newest first; the AI column is the ticket's latest reply attempt (triage is not one).
LIST_TICKETS = """
SELECT t.number, t.status::text AS status, t.priority::text AS priority, t.subject,
       u.full_name AS customer, ai.kind, ai.decision, ai.handoff_reason,
       count(*) OVER () AS total
  FROM tickets t
  JOIN users u ON u.id = t.customer_id
  LEFT JOIN LATERAL (
        SELECT r.kind::text AS kind, r.decision::text AS decision,
               r.handoff_reason::text AS handoff_reason
          FROM ai_responses r
         WHERE r.ticket_id = t.id AND r.kind <> 'triage'
         ORDER BY r.created_at DESC
         LIMIT 1) ai ON true
 WHERE cardinality(%(statuses)s::text[]) = 0 OR t.status::text = ANY(%(statuses)s::text[])
 ORDER BY t.number DESC
 LIMIT %(limit)s
"""


def resolve_ticket(conn: psycopg.Connection, *, ref: str) -> UUID:
    """The id of the ticket ``ref`` names: its number (``24`` or ``#24``) or its id (a UUID).

    InvalidInput when ``ref`` is neither form; NotFound when no such ticket exists. Both messages
    say how to list the tickets.
    """
    text = ref.strip()
    ticket_id: UUID | None = None
    number: int | None = None
    match = _NUMBER.match(text)
    if match:
        number = int(match.group(1))
    else:
        try:
            ticket_id = UUID(text)
        except ValueError:
            raise InvalidInput(
                f"{ref!r} is not a ticket: give its number (24 or #24) or its id (a UUID); "
                f"{LIST_HINT}"
            ) from None
    row = conn.execute(FIND_TICKET, {"id": ticket_id, "number": number}).fetchone()
    if row is None:
        shown = f"#{number}" if number is not None else str(ticket_id)
        raise NotFound(f"ticket {shown} not found; {LIST_HINT}")
    return row["id"]


def ai_status(row: dict) -> str:
    """'sent', 'drafted', 'escalated: no article', 'suggestion: drafted', or '-'."""
    if row["decision"] is None:
        return "-"
    reason = row["handoff_reason"]
    text = f"{row['decision']}: {SHORT_REASONS.get(reason, reason)}" if reason else row["decision"]
    return f"suggestion: {text}" if row["kind"] == "suggestion" else text


def fit_widths(natural: list[int], *, total: int) -> list[int]:
    """Column widths (HEADER order) that fit ``total``, shrinking as SHRINK says; rich's own
    squeezing would hide the ticket number before the subject."""
    width = list(natural)
    for name, floor in SHRINK:
        k = HEADER.index(name)
        excess = sum(width) - total
        if excess <= 0:
            break
        width[k] = max(floor, width[k] - excess)
    return width


@app.command("list")
def list_tickets(
    status: list[str] = typer.Option(
        [], "--status", help=f"only these statuses (repeatable): {', '.join(STATUSES)}"
    ),
    limit: int = typer.Option(20, "--limit", min=1, max=10_000, help="newest N tickets"),
) -> None:
    """List tickets, newest first, with their numbers and what the AI did.

    Columns: number, status, priority, subject, customer, and the AI's latest auto-reply or
    suggestion (sent, drafted, or escalated with the reason). Use the number with
    `autocrm suggest`.

    Example: autocrm tickets list --status open --status pending --limit 50
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table

    unknown = [s for s in status if s not in STATUSES]
    if unknown:
        raise InvalidInput(
            f"--status {unknown[0]!r} is not a ticket status; use one of {', '.join(STATUSES)}"
        )
    with open_db(Settings()) as conn:
        rows = conn.execute(LIST_TICKETS, {"statuses": status, "limit": limit}).fetchall()
    if not rows:
        which = f" with status {' or '.join(status)}" if status else ""
        typer.echo(
            f"no tickets{which}. Tickets arrive through the API (POST /tickets, `autocrm serve`); "
            "`autocrm demo` opens a few in the demo organisation."
        )
        return
    console = Console(highlight=False)
    cells = [
        (
            str(r["number"]),
            r["status"],
            r["priority"],
            r["subject"],
            r["customer"],
            ai_status(r),
        )
        for r in rows
    ]
    width = fit_widths(
        [max(len(h), *(len(c[k]) for c in cells)) for k, h in enumerate(HEADER)],
        total=console.width - 2 * (len(HEADER) - 1),  # two spaces between columns
    )
    table = Table(show_edge=False, pad_edge=False, box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0))
    for name, w in zip(HEADER, width, strict=True):
        table.add_column(name, justify="right" if name == "#" else "left", no_wrap=True, width=w)
    for row in cells:
        table.add_row(*row)
    console.print(table)
    total = rows[0]["total"]
    if total > len(rows):
        typer.echo(f"{len(rows)} of {total} tickets shown; --limit {total} shows all")
    typer.echo(
        f"next: `autocrm suggest <number>` drafts a reply, e.g. autocrm suggest {rows[0]['number']}"
    )
