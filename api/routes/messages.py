"""A ticket's conversation: list it (RLS hides internal notes from customers) and post to it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from autocrm.api.deps import UserSession
from autocrm.api.errors import PROBLEM_RESPONSES, Forbidden
from autocrm.api.pagination import CursorParam, Limit, Page, cursor_params, paginate
from autocrm.api.routes.tickets import visible_ticket
from autocrm.api.types import Text

router = APIRouter(
    prefix="/tickets/{ticket_id}/messages", tags=["messages"], responses=PROBLEM_RESPONSES
)

MessageType = Literal["customer", "agent", "ai", "system"]

COLUMNS = """m.id, m.ticket_id, m.author_id, m.message_type::text AS message_type,
       m.is_internal AS internal, m.body, m.metadata ->> 'ai_response_id' AS ai_response_id,
       m.created_at"""
LIST_MESSAGES = f"""
SELECT {COLUMNS} FROM conversations m
 WHERE m.ticket_id = %(ticket_id)s
   AND (%(after_at)s::timestamptz IS NULL
        OR (m.created_at, m.id) > (%(after_at)s::timestamptz, %(after_id)s::uuid))
 ORDER BY m.created_at, m.id
 LIMIT %(limit)s
"""
INSERT_MESSAGE = f"""
INSERT INTO conversations AS m (ticket_id, author_id, message_type, is_internal, body)
VALUES (%(ticket_id)s, %(author_id)s, %(message_type)s, %(internal)s, %(body)s)
RETURNING {COLUMNS}
"""


class MessageIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"body": "Thanks, we are looking into it."},
                {"body": "Customer is on the legacy plan; check billing.", "internal": True},
            ]
        },
    )
    body: Text(min_length=1, max_length=100_000)
    internal: bool = Field(False, description="an internal note (staff only)")


class Message(BaseModel):
    id: UUID
    ticket_id: UUID
    author_id: UUID | None
    message_type: MessageType
    internal: bool
    body: str
    ai_response_id: str | None = Field(
        None, description="for AI messages: the response to send feedback on"
    )
    created_at: datetime


@router.get("", response_model=Page[Message], summary="List a ticket's messages")
def list_messages(
    ticket_id: UUID, session: UserSession, limit: Limit = 50, cursor: CursorParam = None
) -> dict:
    """Oldest first. Customers never see internal notes or AI drafts (RLS)."""
    visible_ticket(session.conn, ticket_id)
    rows = session.conn.execute(
        LIST_MESSAGES, {"ticket_id": ticket_id, "limit": limit + 1} | cursor_params(cursor)
    ).fetchall()
    items, next_cursor = paginate(rows, limit=limit)
    return {"items": items, "next_cursor": next_cursor}


@router.post("", status_code=201, response_model=Message, summary="Reply or add an internal note")
def post_message(ticket_id: UUID, body: MessageIn, session: UserSession) -> dict:
    """Customers reply on their own tickets; staff reply or add internal notes (``internal``).
    The service key posts system messages."""
    visible_ticket(session.conn, ticket_id)
    if session.role == "customer" and body.internal:
        raise Forbidden("customers cannot post internal notes")
    message_type = {"customer": "customer", "service": "system"}.get(session.role, "agent")
    return session.conn.execute(
        INSERT_MESSAGE,
        {
            "ticket_id": ticket_id,
            "author_id": session.user_id,
            "message_type": message_type,
            "internal": body.internal,
            "body": body.body,
        },
    ).fetchone()
