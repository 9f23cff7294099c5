"""The customer portal: ``/portal`` (my tickets), ``/portal/new`` and ``/portal/tickets/{number}``.

As the customer under RLS: their own tickets, and only the public messages of them. On an AI reply
they say "This helped" or "I need a person", and rate a solved ticket's reply (CSAT): recorded by
the same code as ``POST /ai-responses/{id}/feedback`` (``api.routes.feedback.customer_feedback``),
one row per customer, reply and signal, so a double click or a resubmitted form stores nothing
twice. Forms carry the CSRF token (checked by ``get_caller``) and, where a repeat would create
something (a ticket, a message), a per-form key.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from autocrm.api.deps import ResourcesDep, Session
from autocrm.api.errors import Unprocessable
from autocrm.api.pagination import CursorParam, cursor_params, paginate
from autocrm.api.routes.feedback import FeedbackIn, customer_feedback
from autocrm.api.tasks import enqueue_auto_response
from autocrm.api.web.pages import PageRoute, PageSession, render
from autocrm.api.web.workspace import add_message, server_timing, sql, ticket_number
from autocrm.core.errors import NotFound
from autocrm.db.session import set_caller

router = APIRouter(route_class=PageRoute)

CustomerPage = Annotated[Session, Depends(PageSession(frozenset({"customer"})), scope="function")]
FormKey = Annotated[str, Form(pattern=r"^[0-9a-f]{32}$")]
PORTAL_PAGE = 25
SIGNALS = ("helped", "needs_human")


@router.get("/portal")
def my_tickets(request: Request, session: CustomerPage, cursor: CursorParam = None) -> Response:
    started = time.perf_counter()
    rows = session.conn.execute(
        sql()["portal_tickets"],
        {"customer_id": session.user_id, "limit": PORTAL_PAGE + 1} | cursor_params(cursor),
        prepare=False,  # as the inbox: a custom plan for the cursor's values
    ).fetchall()
    items, next_cursor = paginate(rows, limit=PORTAL_PAGE)
    context = {
        "tickets": items,
        "next_url": f"/portal?cursor={next_cursor}" if next_cursor else None,
        "first_url": "/portal" if cursor else None,
    }
    return server_timing(render(request, "portal_list.html", context, session=session), started)


@router.get("/portal/new")
def new_ticket_form(request: Request, session: CustomerPage) -> Response:
    return render(request, "portal_new.html", {"form_key": uuid.uuid4().hex}, session=session)


@router.post("/portal/new")
def open_ticket(
    session: CustomerPage,
    res: ResourcesDep,
    subject: Annotated[str, Form(min_length=1, max_length=500)],
    form_key: FormKey,
    description: Annotated[str, Form(max_length=100_000)] = "",
) -> Response:
    """A new ticket (normal priority, no category: triage decides), then the auto-responder."""
    conn = session.conn
    subject = " ".join(subject.split())
    if not subject:
        raise Unprocessable("subject: write what it is about")
    conn.execute(sql()["lock_form"], {"key": f"{session.user_id}:{form_key}"})
    key = {"customer_id": session.user_id, "key": form_key}
    existing = conn.execute(sql()["ticket_by_form"], key).fetchone()
    if existing is not None:  # the same form sent twice: one ticket
        return RedirectResponse(f"/portal/tickets/{existing['number']}", status_code=303)
    row = conn.execute(
        sql()["portal_insert_ticket"],
        key | {"subject": subject, "description": description.replace("\r\n", "\n").strip()},
    ).fetchone()
    if res.queue is not None:
        ticket_id = str(row["id"])
        session.after_commit.append(lambda: enqueue_auto_response(ticket_id=ticket_id))
    return RedirectResponse(f"/portal/tickets/{row['number']}?done=opened", status_code=303)


def own_ticket(session: Session, number: str) -> dict[str, Any]:
    row = session.conn.execute(
        sql()["portal_ticket"],
        {"number": ticket_number(number), "customer_id": session.user_id},
    ).fetchone()
    if row is None:
        raise NotFound(f"ticket #{number} not found")
    return row


def my_signals(session: Session, response_ids: list[str]) -> dict[str, dict[str, Any]]:
    """{response id: {signal: rating}} this customer already gave (read as service_role: the
    customer has no SELECT policy on ai_feedback; the ids are replies RLS showed them)."""
    if not response_ids:
        return {}
    conn = session.conn
    set_caller(conn, role="service_role", claims={"role": "service_role"})
    rows = conn.execute(
        sql()["my_signals"], {"customer_id": session.user_id, "response_ids": response_ids}
    ).fetchall()
    set_caller(conn, role=session.caller.db_role, claims=session.caller.claims)
    given: dict[str, dict[str, Any]] = {}
    for row in rows:
        given.setdefault(row["response_id"], {})[row["signal"]] = row["rating"]
    return given


@router.get("/portal/tickets/{number}")
def ticket_page(
    request: Request, number: str, session: CustomerPage, done: str | None = None
) -> Response:
    started = time.perf_counter()
    ticket = own_ticket(session, number)
    thread = session.conn.execute(sql()["thread"], {"ticket_id": ticket["id"]}).fetchall()
    replies = [
        m["ai_response_id"] for m in thread if m["message_type"] == "ai" and m["ai_response_id"]
    ]
    context = {
        "ticket": ticket,
        "thread": thread,
        "given": my_signals(session, replies),
        "rate_reply": replies[-1] if replies and ticket["status"] in ("solved", "closed") else None,
        "done": done,
        "form_key": uuid.uuid4().hex,
    }
    return server_timing(render(request, "portal_ticket.html", context, session=session), started)


def _back(number: int, done: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/portal/tickets/{number}?done={done}{anchor}", status_code=303)


@router.post("/portal/tickets/{number}/feedback")
def give_feedback(
    number: str,
    session: CustomerPage,
    ai_response_id: Annotated[UUID, Form()],
    signal: Annotated[str | None, Form()] = None,
    rating: Annotated[int | None, Form(ge=1, le=5)] = None,
) -> Response:
    """ "This helped", "I need a person" (the ticket goes back to the agents) or a CSAT rating."""
    ticket = own_ticket(session, number)
    if signal is not None and signal not in SIGNALS:
        raise Unprocessable("signal: helped or needs_human")
    if signal is None and rating is None:
        raise Unprocessable("say whether it helped, or rate it")
    body = FeedbackIn(signal=signal, rating=rating)  # type: ignore[arg-type]
    key = f"customer:{session.user_id}:{ai_response_id}"  # as the API: one per reply and signal
    recorded = customer_feedback(session, ai_response_id, body, key)
    if not any(r.created for r in recorded):
        return _back(ticket["number"], "duplicate", "#thread-end")
    if signal == "needs_human":
        session.conn.execute(sql()["needs_person"], {"ticket_id": ticket["id"]})
    return _back(ticket["number"], signal or "rated", "#thread-end")


@router.post("/portal/tickets/{number}/messages")
def reply(
    number: str,
    session: CustomerPage,
    body: Annotated[str, Form(max_length=100_000)],
    form_key: FormKey,
) -> Response:
    ticket = own_ticket(session, number)
    text = body.replace("\r\n", "\n").strip()
    if not text:
        raise Unprocessable("body: write your message first")
    created = add_message(
        session.conn,
        ticket_id=ticket["id"],
        author_id=session.user_id,
        message_type="customer",
        internal=False,
        body=text,
        key=form_key,
    )
    return _back(ticket["number"], "replied" if created else "duplicate", "#thread-end")


@router.post("/portal/tickets/{number}/status")
def set_status(number: str, session: CustomerPage, status: Annotated[str, Form()]) -> Response:
    """The customer marks their ticket solved, or reopens it."""
    ticket = own_ticket(session, number)
    if status not in ("solved", "open"):
        raise Unprocessable("status: solved or open")
    if status != ticket["status"]:
        session.conn.execute(sql()["set_status"], {"status": status, "ticket_id": ticket["id"]})
    return _back(ticket["number"], status)
