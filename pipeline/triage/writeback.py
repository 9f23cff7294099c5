"""``apply_triage``: the analysis and routing written to the ticket, in one UPDATE.

Fills what a human has not already decided. A priority is only ever raised from the default
'normal'; the tickets trigger then recomputes the SLA due times.
"""

from __future__ import annotations

from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from autocrm.core.errors import NotFound
from autocrm.pipeline.triage.routing import RoutingDecision
from autocrm.pipeline.triage.schemas import TicketAnalysis


class TicketNotFound(NotFound):
    """apply_triage was given a ticket id that does not exist (or that the caller may not see)."""


# Only fills what nobody decided: category, team and assignee when empty; priority only raised, and
# only from the default 'normal' (a human who set low or high meant it). The tickets trigger
# recomputes the SLA due times when the priority changes. An assignee is only set when the ticket
# ends up in the routed team, so a human's team choice never gets another team's agent.
APPLY_SQL = """
UPDATE tickets
   SET ai_analysis = %(analysis)s,
       category = coalesce(category, %(category)s),
       language = coalesce(%(language)s, language),
       priority = CASE WHEN priority = 'normal' AND %(priority)s::ticket_priority > priority
                       THEN %(priority)s::ticket_priority ELSE priority END,
       team_id = coalesce(team_id, %(team_id)s::uuid),
       assignee_id = coalesce(assignee_id,
                              CASE WHEN team_id IS NULL OR team_id = %(team_id)s::uuid
                                   THEN %(assignee_id)s::uuid END)
 WHERE id = %(ticket_id)s
RETURNING id
"""


def apply_triage(
    conn: psycopg.Connection,
    *,
    ticket_id: UUID | str,
    analysis: TicketAnalysis,
    routing: RoutingDecision,
) -> None:
    """Write the analysis and routing to the ticket: one UPDATE, the caller owns the transaction."""
    record = analysis.as_record() | {"routing": routing.as_record()}
    row = conn.execute(
        APPLY_SQL,
        {
            "ticket_id": ticket_id,
            "analysis": Jsonb(record),
            "category": analysis.category,
            "language": analysis.language,
            "priority": analysis.priority,
            "team_id": routing.team_id,
            "assignee_id": routing.assignee_id,
        },
    ).fetchone()
    if row is None:
        raise TicketNotFound(f"ticket {ticket_id} not found")
