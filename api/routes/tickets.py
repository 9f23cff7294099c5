"""Tickets: open, list, read, update. Row-level security decides which tickets a caller sees.

Field rules on top of RLS (403): customers open tickets for themselves without choosing a team or
an assignee (their priority and category are hints for triage, see ``create_ticket``), and may
change only ``status``, to solved/closed or back to open (a reopen). ``reopened_count`` counts a
reopen once per answer (the first, or one after a public agent/AI reply since the last counted
one: the tickets_lifecycle trigger in db/schema/03_tickets.sql), so toggling is not a metric.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict, Field

from autocrm.api.deps import ResourcesDep, UserSession
from autocrm.api.errors import PROBLEM_RESPONSES, RATE_LIMITED, Forbidden, Unprocessable
from autocrm.api.pagination import CursorParam, Limit, Page, cursor_params, paginate
from autocrm.api.tasks import enqueue_auto_response
from autocrm.api.types import Tags, Text, like_pattern
from autocrm.core.errors import NotFound

router = APIRouter(prefix="/tickets", tags=["tickets"], responses=PROBLEM_RESPONSES)

Status = Literal["new", "open", "pending", "on_hold", "solved", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]
Channel = Literal["web", "email", "chat", "phone", "api"]
CUSTOMER_STATUSES = {"solved", "closed", "open"}
# What a customer may state when opening a ticket, as input to triage (never applied directly).
CUSTOMER_HINTS = ("priority", "category")
Subject = Text(min_length=1, max_length=500, strip=True)
Description = Text(max_length=100_000)
Category = Text(min_length=1, max_length=100)

SUMMARY_COLUMNS = """t.id, t.number, t.subject, t.status::text AS status,
       t.priority::text AS priority, t.channel::text AS channel, t.customer_id, t.assignee_id,
       t.team_id, t.category, t.tags, t.created_at, t.updated_at"""
COLUMNS = f"""{SUMMARY_COLUMNS}, t.description, t.language, t.first_response_due_at,
       t.first_response_at, t.resolution_due_at, t.resolved_at, t.closed_at, t.reopened_count"""

SELECT_TICKET = f"SELECT {COLUMNS} FROM tickets t WHERE t.id = %s"
INSERT_TICKET = f"""
INSERT INTO tickets AS t (subject, description, priority, channel, customer_id, team_id,
                          assignee_id, category, tags, metadata)
VALUES (%(subject)s, %(description)s, %(priority)s, %(channel)s, %(customer_id)s, %(team_id)s,
        %(assignee_id)s, %(category)s, %(tags)s, %(metadata)s)
RETURNING {COLUMNS}
"""
LIST_TICKETS = f"""
SELECT {SUMMARY_COLUMNS} FROM tickets t
 WHERE (%(status)s::ticket_status IS NULL OR t.status = %(status)s::ticket_status)
   AND (%(priority)s::ticket_priority IS NULL OR t.priority = %(priority)s::ticket_priority)
   AND (%(team_id)s::uuid IS NULL OR t.team_id = %(team_id)s::uuid)
   AND (%(assignee_id)s::uuid IS NULL OR t.assignee_id = %(assignee_id)s::uuid)
   AND (%(customer_id)s::uuid IS NULL OR t.customer_id = %(customer_id)s::uuid)
   AND (%(pattern)s::text IS NULL OR t.subject ILIKE %(pattern)s::text)
   AND (%(after_at)s::timestamptz IS NULL
        OR (t.created_at, t.id) < (%(after_at)s::timestamptz, %(after_id)s::uuid))
 ORDER BY t.created_at DESC, t.id DESC
 LIMIT %(limit)s
"""
# One static statement for any subset of fields: set_x says whether x was sent (null included).
UPDATE_TICKET = f"""
UPDATE tickets AS t SET
    status = CASE WHEN %(set_status)s THEN %(status)s::ticket_status ELSE t.status END,
    priority = CASE WHEN %(set_priority)s THEN %(priority)s::ticket_priority ELSE t.priority END,
    assignee_id = CASE WHEN %(set_assignee_id)s THEN %(assignee_id)s::uuid ELSE t.assignee_id END,
    team_id = CASE WHEN %(set_team_id)s THEN %(team_id)s::uuid ELSE t.team_id END,
    tags = CASE WHEN %(set_tags)s THEN %(tags)s::text[] ELSE t.tags END
 WHERE t.id = %(id)s
RETURNING {COLUMNS}
"""


class TicketIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "subject": "API returns 429 Too Many Requests",
                    "description": "Since this morning our sync job gets 429s after ~300 calls.",
                    "priority": "high",
                }
            ]
        },
    )
    subject: Subject
    description: Description = ""
    priority: Priority = "normal"
    channel: Channel = "api"
    tags: Tags = []
    category: Category | None = None
    customer_id: UUID | None = Field(
        None, description="staff/service: whose ticket (customers: themselves)"
    )
    team_id: UUID | None = Field(None, description="staff/service only")
    assignee_id: UUID | None = Field(None, description="staff/service only")


class TicketPatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"status": "pending", "priority": "high"}]}
    )
    status: Status | None = None
    priority: Priority | None = None
    assignee_id: UUID | None = None
    team_id: UUID | None = None
    tags: Tags | None = None


class TicketSummary(BaseModel):
    id: UUID
    number: int
    subject: str
    status: Status
    priority: Priority
    channel: Channel
    customer_id: UUID
    assignee_id: UUID | None
    team_id: UUID | None
    category: str | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime


class Ticket(TicketSummary):
    description: str
    language: str | None
    first_response_due_at: datetime | None
    first_response_at: datetime | None
    resolution_due_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reopened_count: int


@router.post(
    "", status_code=201, response_model=Ticket, responses=RATE_LIMITED, summary="Open a ticket"
)
def create_ticket(
    body: TicketIn, session: UserSession, res: ResourcesDep, response: Response
) -> dict:
    """A customer opens a ticket for themselves; staff/service open one for a customer. The
    auto-responder is queued after the commit.

    A customer's ``priority`` and ``category`` are what they say, not a decision: they are kept in
    ``metadata.customer_hints`` and the ticket starts at normal priority with no category, for
    triage to decide (otherwise "urgent" would buy the shortest SLA, and a category could route
    the ticket to any team). Staff and the service key set them directly."""
    values = body.model_dump() | {"metadata": Jsonb({})}
    if session.role == "customer":
        if body.team_id or body.assignee_id:
            raise Forbidden("customers cannot choose a team or an assignee")
        values["customer_id"] = values["customer_id"] or session.user_id
        hints = {k: values[k] for k in CUSTOMER_HINTS if k in body.model_fields_set}
        values |= {"priority": "normal", "category": None}
        values["metadata"] = Jsonb({"customer_hints": hints} if hints else {})
    elif values["customer_id"] is None:
        raise Unprocessable("customer_id: required when staff open a ticket")
    row = session.conn.execute(INSERT_TICKET, values).fetchone()
    if res.queue is not None:
        ticket_id = str(row["id"])
        session.after_commit.append(lambda: enqueue_auto_response(ticket_id=ticket_id))
    response.headers["Location"] = f"/tickets/{row['id']}"
    return row


@router.get("", response_model=Page[TicketSummary], summary="List tickets")
def list_tickets(
    session: UserSession,
    limit: Limit = 50,
    cursor: CursorParam = None,
    status: Status | None = None,
    priority: Priority | None = None,
    team_id: UUID | None = None,
    assignee_id: UUID | None = None,
    customer_id: UUID | None = None,
    q: Annotated[
        Text(min_length=1, max_length=200) | None,
        Query(description="substring of the subject (case-insensitive)"),
    ] = None,
) -> dict:
    """The tickets the caller may see (RLS), newest first, with optional filters."""
    rows = session.conn.execute(
        LIST_TICKETS,
        {
            "status": status,
            "priority": priority,
            "team_id": team_id,
            "assignee_id": assignee_id,
            "customer_id": customer_id,
            "pattern": like_pattern(q) if q else None,
            "limit": limit + 1,
        }
        | cursor_params(cursor),
    ).fetchall()
    items, next_cursor = paginate(rows, limit=limit)
    return {"items": items, "next_cursor": next_cursor}


@router.get("/{ticket_id}", response_model=Ticket, summary="Read a ticket")
def get_ticket(ticket_id: UUID, session: UserSession) -> dict:
    return visible_ticket(session.conn, ticket_id)


@router.patch("/{ticket_id}", response_model=Ticket, summary="Update a ticket")
def update_ticket(ticket_id: UUID, body: TicketPatch, session: UserSession) -> dict:
    """Staff change status, priority, assignee, team and tags (within RLS); customers may only
    solve, close or reopen their own ticket."""
    visible_ticket(session.conn, ticket_id)  # 404 before 403: never confirm a hidden ticket
    sent = body.model_fields_set
    if not sent:
        raise Unprocessable("body: send at least one field to change")
    if session.role == "customer" and (sent != {"status"} or body.status not in CUSTOMER_STATUSES):
        raise Forbidden("customers may only set status to solved, closed or open (reopen)")
    if "status" in sent and body.status is None:
        raise Unprocessable("status: cannot be null")
    if "priority" in sent and body.priority is None:
        raise Unprocessable("priority: cannot be null")
    params = body.model_dump() | {f"set_{f}": f in sent for f in TicketPatch.model_fields}
    params["tags"] = params["tags"] if params["tags"] is not None else []
    row = session.conn.execute(UPDATE_TICKET, params | {"id": ticket_id}).fetchone()
    if row is None:  # visible, but the UPDATE policies let nothing through: never a silent 200
        raise Forbidden("the access rules do not allow you to change this ticket")
    return row


def visible_ticket(conn, ticket_id: UUID) -> dict:
    """The ticket if the caller may see it under RLS; 404 otherwise (also for 'exists, hidden')."""
    row = conn.execute(SELECT_TICKET, (ticket_id,)).fetchone()
    if row is None:
        raise NotFound(f"ticket {ticket_id} not found")
    return row
