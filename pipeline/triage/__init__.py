"""Ticket triage: analyse a new ticket, route it, write the result back in one UPDATE.

- ``analyse_ticket`` (analysis.py): category, priority, sentiment, language and intent. Offline (no
  chat model) it uses the embedder (classifier.py) and small, transparent rules (rules.py over
  rules.yaml; language.py over languages.yaml), and says in ``signals`` which ones fired; with a
  chat model (llm.py) it asks the model for the same fields as JSON and keeps the offline answer as
  the fallback (an unknown category, an unusable language, or a failing model). The model reads
  customer text, so its "urgent" stands only when an urgent rule fired too; else it is "high".
- ``route_ticket`` (routing.py): the first active routing rule (ascending position) whose
  conditions match; else the team whose skills are named like the category; then the team's
  best-suited, least-loaded agent.
- ``apply_triage`` (writeback.py): fills what a human has not already decided. A priority is only
  ever raised from the default 'normal'; the tickets trigger then recomputes the SLA due times.

The organisation's own words are read from its database: categories (slugs, names, descriptions,
article titles), routing rules, teams and skills, and its own name (users.organization of its
staff). rules.yaml holds the keyword rules, and, until categories can carry them in the database,
which of the demo organisation's category slugs each keyword topic belongs to.
"""

from autocrm.pipeline.triage.analysis import analyse_ticket
from autocrm.pipeline.triage.language import detect_language
from autocrm.pipeline.triage.routing import RoutingDecision, route_ticket
from autocrm.pipeline.triage.schemas import (
    OFFLINE_MODEL,
    Priority,
    Sentiment,
    TicketAnalysis,
    TriageOutput,
    TriagePrompt,
)
from autocrm.pipeline.triage.writeback import TicketNotFound, apply_triage

__all__ = [
    "OFFLINE_MODEL",
    "Priority",
    "RoutingDecision",
    "Sentiment",
    "TicketAnalysis",
    "TicketNotFound",
    "TriageOutput",
    "TriagePrompt",
    "analyse_ticket",
    "apply_triage",
    "detect_language",
    "route_ticket",
]
