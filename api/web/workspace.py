"""The agent workspace: the inbox (``/app/inbox``) and the ticket view (``/app/tickets/{number}``).

Everything runs as the caller (RLS decides which tickets, messages and AI responses exist for
them). The AI panel streams a suggestion from the JSON API (``POST /tickets/{id}/suggestions``,
from ``static/workspace.js``); what the agent then does with a draft is a form POST here, recorded
through the feedback loop (``pipeline.feedback.record_agent_action``) exactly once: the event key
is the response's own (``web:<response id>:decision``), so a double click, a resubmitted form or a
second tab lands on the row stored first and sends nothing twice. Notes carry a per-form key for
the same reason.

Sending a draft makes it a public AI message that carries the response (``publish_reply``), the
shape the customer's "This helped" and the implicit signals look for: authored by the agent, as
the agent, under the same policies as everything else (staff may send an AI draft of a ticket they
can see, and link its response to the message; nothing else of a stored response changes).
"""

from __future__ import annotations

import re
import time
import uuid
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

import psycopg
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from psycopg.types.json import Jsonb

from autocrm.api.deps import ResourcesDep, Session
from autocrm.api.errors import Forbidden, Unprocessable
from autocrm.api.pagination import CursorParam, cursor_params, paginate
from autocrm.api.web.pages import PageRoute, StaffPage, render
from autocrm.core.errors import NotFound
from autocrm.pipeline.feedback import REASONS, record_agent_action

router = APIRouter(route_class=PageRoute)

SQL_FILE = Path(__file__).parent / "sql" / "workspace.sql"
STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
SLA_FILTERS = {"soon": "Due within 4 hours", "breached": "Breached"}
SOON = "4 hours"
INBOX_PAGE = 50
MAX_BODY = 100_000
_NAMED = re.compile(r"^-- name: ([a-z_]+)$", re.MULTILINE)
_NUMBER = re.compile(r"^[1-9][0-9]{0,17}$")

Text = Annotated[str, Form(max_length=MAX_BODY)]
OptionalText = Annotated[str | None, Form(max_length=MAX_BODY)]


@cache
def sql() -> dict[str, str]:
    """name -> statement, from sql/workspace.sql."""
    parts = _NAMED.split(SQL_FILE.read_text(encoding="utf-8"))[1:]
    return dict(zip(parts[0::2], (p.strip().rstrip(";") for p in parts[1::2]), strict=True))


def ticket_number(number: str) -> int:
    """A ticket number from the URL; anything else is a page that does not exist."""
    if not _NUMBER.match(number):
        raise NotFound(f"no ticket {number!r}")
    return int(number)


def choice(value: str | None, allowed: tuple[str, ...] | dict, name: str) -> str | None:
    """A select's value: empty is "any"; anything not offered is a 422 page."""
    if not value:
        return None
    if value not in allowed:
        raise Unprocessable(f"{name}: not one of {', '.join(allowed)}")
    return value


def server_timing(response: Response, started: float) -> Response:
    """How long the page took in the app (queries and template), for the benchmark and devtools."""
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


def ai_status(row: dict[str, Any]) -> tuple[str, str]:
    """(label, badge class) of a ticket's latest AI response, for the inbox."""
    if row.get("ai_decision") is None:
        return "no AI response", ""
    if row.get("ai_action") in ("accepted", "edited"):
        return f"reply sent ({row['ai_action']})", "ok"
    if row.get("ai_action") == "rejected":
        return "draft discarded", ""
    if row["ai_decision"] == "escalated":
        return f"handed off: {(row.get('ai_reason') or '').replace('_', ' ')}", "warn"
    if row["ai_decision"] == "sent" and row.get("ai_kind") == "auto_reply":
        return "auto-answered", "ok"
    return "draft waiting", "ai"


# Inbox ------------------------------------------------------------------------------------------


@router.get("/app/inbox")
def inbox(
    request: Request,
    session: StaffPage,
    status: str | None = None,
    priority: str | None = None,
    team: str | None = None,
    mine: str | None = None,
    sla: str | None = None,
    cursor: CursorParam = None,
) -> Response:
    started = time.perf_counter()
    filters = {
        "status": choice(status, (*STATUSES, "all"), "status"),
        "priority": choice(priority, PRIORITIES, "priority"),
        "team": _uuid(team, "team"),
        "mine": "1" if mine else None,
        "sla": choice(sla, SLA_FILTERS, "sla"),
    }
    rows = session.conn.execute(
        sql()["inbox"],
        {
            "status": filters["status"] if filters["status"] != "all" else None,
            "open_only": filters["status"] is None,
            "priority": filters["priority"],
            "team_id": filters["team"],
            "assignee_id": session.user_id if mine else None,
            "sla": filters["sla"],
            "soon": SOON,
            "limit": INBOX_PAGE + 1,
        }
        | cursor_params(cursor),
        # Planned for these values every time: a prepared statement's generic plan cannot drop
        # the filters that are off ("x IS NULL OR …") and was 10× slower at 10,000 tickets.
        prepare=False,
    ).fetchall()
    items, next_cursor = paginate(rows, limit=INBOX_PAGE)
    for row in items:
        row["ai_label"], row["ai_class"] = ai_status(row)
    query = {k: v for k, v in filters.items() if v}
    context = {
        "tickets": items,
        "filters": filters,
        "teams": session.conn.execute(sql()["teams"]).fetchall(),
        "statuses": STATUSES,
        "priorities": PRIORITIES,
        "sla_filters": SLA_FILTERS,
        "next_url": f"/app/inbox?{urlencode(query | {'cursor': next_cursor})}"
        if next_cursor
        else None,
        "first_url": f"/app/inbox?{urlencode(query)}" if cursor else None,
    }
    return server_timing(render(request, "inbox.html", context, session=session), started)


def _uuid(value: str | None, name: str) -> str | None:
    if not value:
        return None
    try:
        return str(UUID(value))
    except ValueError as exc:
        raise Unprocessable(f"{name}: not an id") from exc


# Ticket view ------------------------------------------------------------------------------------


def visible_ticket(conn: psycopg.Connection, number: str) -> dict[str, Any]:
    """The ticket with this number if the caller may see it (RLS); the 404 page otherwise."""
    row = conn.execute(sql()["ticket"], {"number": ticket_number(number)}).fetchone()
    if row is None:
        raise NotFound(f"ticket #{number} not found")
    return row


@router.get("/app/tickets/{number}")
def ticket_page(
    request: Request, number: str, session: StaffPage, done: str | None = None
) -> Response:
    started = time.perf_counter()
    conn = session.conn
    ticket = visible_ticket(conn, number)
    thread = conn.execute(sql()["thread"], {"ticket_id": ticket["id"]}).fetchall()
    response = conn.execute(sql()["latest_response"], {"ticket_id": ticket["id"]}).fetchone()
    citations = []
    if response and response["cited"]:
        citations = conn.execute(sql()["citations"], {"cited": Jsonb(response["cited"])}).fetchall()
    context = {
        "ticket": ticket,
        "analysis": ticket["ai_analysis"] or {},
        "routing": (ticket["ai_analysis"] or {}).get("routing") or {},
        "thread": thread,
        "response": response,
        "citations": citations,
        # Decided: an agent acted on it, or the customer has it already (a sent auto-reply).
        "decided": bool(response and (response["action"] or response["public"])),
        "reasons": REASONS,
        "statuses": STATUSES,
        "done": done,
        "form_key": uuid.uuid4().hex,
        "now": ticket["now"],
    }
    return server_timing(render(request, "ticket.html", context, session=session), started)


def _back(number: int | str, done: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/app/tickets/{number}?done={done}{anchor}", status_code=303)


@router.post("/app/tickets/{number}/reply")
def decide_draft(
    number: str,
    session: StaffPage,
    res: ResourcesDep,
    ai_response_id: Annotated[UUID, Form()],
    action: Annotated[str, Form()],
    final_text: OptionalText = None,
    reason: Annotated[str | None, Form()] = None,
    comment: Annotated[str | None, Form(max_length=5000)] = None,
) -> Response:
    """Send the draft as is (accepted), edit then send (edited, the final text stored), or discard
    it with a reason (rejected). One decision per draft: a repeat lands on the first."""
    conn = session.conn
    ticket = visible_ticket(conn, number)
    response = conn.execute(
        sql()["response_for_ticket"], {"response_id": ai_response_id, "ticket_id": ticket["id"]}
    ).fetchone()
    if response is None:
        raise NotFound(f"AI response {ai_response_id} not found on ticket #{number}")
    key = f"web:{response['id']}:decision"
    if action == "discard":
        if reason not in REASONS:
            raise Unprocessable(f"reason: choose one of {', '.join(REASONS)}")
        recorded = record_agent_action(
            conn,
            response_id=response["id"],
            agent_id=session.user_id,
            action="rejected",
            reason=reason,  # type: ignore[arg-type]
            comment=(comment or "").strip() or None,
            event_key=key,
        )
        return _back(ticket["number"], "discarded" if recorded.created else "duplicate", "#ai")
    if action not in ("accept", "edit"):
        raise Unprocessable("action: accept, edit or discard")
    if response["public"]:  # the customer has it already (an auto-reply, or sent before)
        return _back(ticket["number"], "duplicate", "#ai")
    draft = response["draft"] or ""
    text = draft
    if action == "edit":
        text = (final_text or "").replace("\r\n", "\n").strip()
        if not text:
            raise Unprocessable("final_text: write the reply to send")
    if not text.strip():
        raise Unprocessable("this AI response has no draft to send")
    edited = " ".join(text.split()) != " ".join(draft.split())
    recorded = record_agent_action(
        conn,
        response_id=response["id"],
        agent_id=session.user_id,
        action="edited" if edited else "accepted",
        final_text=text if edited else None,
        event_key=key,
        embedder=res.embedder,
    )
    if not recorded.created:
        return _back(ticket["number"], "duplicate", "#ai")
    publish(session, ticket_id=ticket["id"], response_id=response["id"], body=text, edited=edited)
    return _back(ticket["number"], "sent", "#thread-end")


def publish(
    session: Session, *, ticket_id: UUID, response_id: UUID, body: str, edited: bool
) -> UUID:
    """The sent draft as a public AI message linked to its response (see the module docstring)."""
    conn = session.conn
    params = {
        "ticket_id": ticket_id,
        "author_id": session.user_id,
        "body": body,
        "response_id": response_id,
        "edited": edited,
    }
    # As the agent: the policies let staff send an AI draft they can see, authored by them, and
    # link the response to it (db/migrations/20261204120000_staff_send_ai_drafts.sql).
    message_id = conn.execute(sql()["publish_reply"], params).fetchone()["id"]
    conn.execute(sql()["link_reply"], {"message_id": message_id, "response_id": response_id})
    conn.execute(sql()["awaiting_customer"], {"ticket_id": ticket_id})
    return message_id


@router.post("/app/tickets/{number}/messages")
def post_message(
    number: str,
    session: StaffPage,
    body: Text,
    form_key: Annotated[str, Form(pattern=r"^[0-9a-f]{32}$")],
    kind: Annotated[str, Form()] = "note",
) -> Response:
    """An internal note (or a public reply); the form's key makes a resubmission a no-op."""
    conn = session.conn
    ticket = visible_ticket(conn, number)
    if kind not in ("note", "reply"):
        raise Unprocessable("kind: note or reply")
    text = body.replace("\r\n", "\n").strip()
    if not text:
        raise Unprocessable("body: write something first")
    created = add_message(
        conn,
        ticket_id=ticket["id"],
        author_id=session.user_id,
        message_type="agent",
        internal=kind == "note",
        body=text,
        key=form_key,
    )
    if created and kind == "reply":
        conn.execute(sql()["awaiting_customer"], {"ticket_id": ticket["id"]})
    done = ("noted" if kind == "note" else "replied") if created else "duplicate"
    return _back(ticket["number"], done, "#thread-end")


def add_message(
    conn: psycopg.Connection,
    *,
    ticket_id: UUID,
    author_id: UUID | None,
    message_type: str,
    internal: bool,
    body: str,
    key: str,
) -> bool:
    """Insert the message unless this form (``key``) was stored already; True when inserted."""
    conn.execute(sql()["lock_form"], {"key": f"{ticket_id}:{key}"})
    if conn.execute(sql()["message_by_form"], {"ticket_id": ticket_id, "key": key}).fetchone():
        return False
    conn.execute(
        sql()["insert_message"],
        {
            "ticket_id": ticket_id,
            "author_id": author_id,
            "message_type": message_type,
            "internal": internal,
            "body": body,
            "key": key,
        },
    )
    return True


@router.post("/app/tickets/{number}/status")
def change_status(number: str, session: StaffPage, status: Annotated[str, Form()]) -> Response:
    conn = session.conn
    ticket = visible_ticket(conn, number)
    choice(status, STATUSES, "status")
    if status == ticket["status"]:
        return _back(ticket["number"], "unchanged")
    row = conn.execute(
        sql()["set_status"], {"status": status, "ticket_id": ticket["id"]}
    ).fetchone()
    if row is None:  # visible, but the update policies let nothing through
        raise Forbidden("the access rules do not allow you to change this ticket")
    return _back(ticket["number"], "status")
