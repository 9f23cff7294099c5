"""Feedback on AI responses: agents accept/edit/reject a draft; customers rate an AI reply.

Thin over ``pipeline.feedback`` (validation of the combinations, similarity, scoring, idempotency).
An ``Idempotency-Key`` header becomes the rows' ``event_key`` (namespaced by caller), so a retried
request is stored once and answered 200 with ``duplicate: true`` and the ids stored the first time.

A customer's feedback is idempotent per customer, reply and signal whatever the header says: the
FIRST rating (and the first helped / needs_human) of a reply by a customer is the one kept; later
ones are answered 200 ``duplicate: true`` with the stored ids. A score that one customer could move
by re-posting (or by a client retrying without a key) would not measure anything.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self
from uuid import UUID

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from autocrm.api.deps import STAFF, ResourcesDep, Session, UserSession
from autocrm.api.errors import PROBLEM_RESPONSES, Forbidden
from autocrm.api.types import Comment, Text
from autocrm.core.errors import NotFound
from autocrm.db.session import set_caller
from autocrm.pipeline.feedback import Reason, Recorded, record_agent_action, record_customer_signal

router = APIRouter(tags=["feedback"], responses=PROBLEM_RESPONSES)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[\x20-\x7e]{1,200}$",
        description="any printable ASCII id of this request (≤ 200); a retry with it lands once",
    ),
]
# The customer's view (RLS): a public AI message on their own ticket that carries this response.
CUSTOMER_SEES_REPLY = """
SELECT 1 FROM conversations m
 WHERE m.message_type = 'ai' AND NOT m.is_internal AND m.metadata ->> 'ai_response_id' = %s
"""


class FeedbackIn(BaseModel):
    """Agents send ``action`` (+ ``final_text`` when edited, ``reason`` when rejected); customers
    send ``rating`` and/or ``signal``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"action": "accepted"},
                {"action": "edited", "final_text": "Hi Ethan, the Team plan allows 300/min."},
                {"action": "rejected", "reason": "outdated", "comment": "Limits changed in May."},
                {"rating": 5, "signal": "helped"},
            ]
        },
    )
    action: Literal["accepted", "edited", "rejected"] | None = None
    final_text: Text(min_length=1, max_length=100_000) | None = None
    reason: Reason | None = None
    comment: Comment | None = None
    rating: int | None = Field(None, ge=1, le=5, description="customer satisfaction, 1-5")
    signal: Literal["helped", "needs_human"] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        agent = any(v is not None for v in (self.action, self.final_text, self.reason))
        customer = self.rating is not None or self.signal is not None
        if agent == customer:
            raise ValueError("send an agent action, or a customer rating/signal (exactly one)")
        if agent and self.action is None:
            raise ValueError("action is required")
        return self

    @property
    def from_customer(self) -> bool:
        return self.action is None


class FeedbackOut(BaseModel):
    ai_response_id: UUID
    feedback_ids: list[UUID] = Field(description="the rows (on a replay: those stored first)")
    duplicate: bool = Field(description="true when the Idempotency-Key was seen before")


@router.post(
    "/ai-responses/{response_id}/feedback",
    status_code=201,
    response_model=FeedbackOut,
    responses={200: {"description": "a replay of an earlier request (same Idempotency-Key)"}},
    summary="Give feedback on an AI response",
)
def give_feedback(
    response_id: UUID,
    body: FeedbackIn,
    session: UserSession,
    res: ResourcesDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> FeedbackOut:
    if body.from_customer and session.role != "customer":
        raise Forbidden("ratings and signals come from customers; agents send an action")
    if not body.from_customer and session.role not in STAFF:
        raise Forbidden("only agents accept, edit or reject AI responses")
    owner = str(session.user_id or "service")
    key = f"api:{owner}:{idempotency_key}" if idempotency_key else None
    if body.from_customer:
        # One per customer and reply (pipeline.feedback appends ":<signal>"): see the docstring.
        key = f"customer:{owner}:{response_id}"
        recorded = customer_feedback(session, response_id, body, key)
    else:
        # As the caller: RLS shows staff the responses of tickets they can see (404 otherwise).
        recorded = [
            record_agent_action(
                session.conn,
                response_id=response_id,
                agent_id=session.user_id,
                action=body.action,
                final_text=body.final_text,
                reason=body.reason,
                comment=body.comment,
                event_key=key,
                embedder=res.embedder,
            )
        ]
    duplicate = not any(r.created for r in recorded)
    if duplicate:
        response.status_code = 200
    return FeedbackOut(
        ai_response_id=response_id, feedback_ids=[r.id for r in recorded], duplicate=duplicate
    )


def customer_feedback(
    session: Session, response_id: UUID, body: FeedbackIn, key: str | None
) -> list[Recorded]:
    """Customers may rate the public AI replies on their own tickets.

    WORKAROUND (schema): customers have no SELECT policy on ai_responses, and the
    ai_feedback_customer_insert policy checks ownership with a subquery on that table, so under RLS
    a customer's insert is always refused. The visibility decision is still RLS's: the customer
    must see the AI message (conversations policy: public, on their own ticket). The recording then
    runs as service_role, in this same transaction, and pipeline.feedback re-checks the policy's
    own predicate (public reply, ticket owned by this customer). Remove once the policy uses a
    SECURITY DEFINER helper.
    """
    conn = session.conn
    if conn.execute(CUSTOMER_SEES_REPLY, (str(response_id),)).fetchone() is None:
        raise NotFound(f"AI response {response_id} not found")
    # On an error the transaction rolls back, and these SET LOCALs with it.
    set_caller(conn, role="service_role", claims={"role": "service_role"})
    recorded = record_customer_signal(
        conn,
        response_id=response_id,
        customer_id=session.user_id,
        signal=body.signal,
        csat=body.rating,
        comment=body.comment,
        event_key=key,
    )
    set_caller(conn, role="authenticated", claims=session.caller.claims)
    return recorded
