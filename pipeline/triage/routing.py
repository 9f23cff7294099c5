"""``route_ticket``: the team and agent for a ticket.

The first active routing rule (ascending position) whose conditions match; else the team whose
skills are named like the category; then the team's best-suited, least-loaded agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

# A missing key matches everything; a present key with a NULL ticket value matches nothing (the
# `?` test is NULL, so the row is filtered out). Rules pointing at an inactive team are skipped.
MATCH_RULE_SQL = """
SELECT r.id, r.name, r.position, r.team_id, t.name AS team_name
  FROM routing_rules r
  JOIN teams t ON t.id = r.team_id AND t.is_active
 WHERE r.is_active
   AND (NOT r.conditions ? 'category' OR r.conditions -> 'category' ? %(category)s)
   AND (NOT r.conditions ? 'priority' OR r.conditions -> 'priority' ? %(priority)s)
   AND (NOT r.conditions ? 'language' OR r.conditions -> 'language' ? %(language)s)
   AND (NOT r.conditions ? 'tags_any' OR r.conditions -> 'tags_any' ?| %(tags)s::text[])
 ORDER BY r.position
 LIMIT 1
"""

# "Named like the category": the same name ('api' ~ 'api'), or one is a hyphen part of the other
# ('api-keys' ~ 'api', 'export' ~ 'data-export').
SKILL_MATCHES = sql.SQL("""(s.name = %(category)s
                    OR s.name = ANY (string_to_array(%(category)s, '-'))
                    OR %(category)s = ANY (string_to_array(s.name, '-')))""")

SKILL_TEAM_SQL = sql.SQL("""
SELECT t.id, t.name, array_agg(s.name ORDER BY s.name) AS skills,
       sum(CASE WHEN s.name = %(category)s THEN 2 ELSE 1 END) AS score
  FROM teams t
  JOIN team_skills ts ON ts.team_id = t.id
  JOIN skills s ON s.id = ts.skill_id
 WHERE t.is_active AND {skill_matches}
 GROUP BY t.id
 ORDER BY score DESC, t.name
 LIMIT 1
""").format(skill_matches=SKILL_MATCHES)

# Proficiency first, then load: the best-suited agent, and among equals the least busy one.
ASSIGNEE_SQL = sql.SQL("""
SELECT u.id, u.full_name,
       coalesce(max(ag.proficiency) FILTER (WHERE {skill_matches}), 0) AS proficiency,
       (SELECT count(*) FROM tickets tk
         WHERE tk.assignee_id = u.id AND tk.status IN ('new', 'open', 'pending')) AS open_tickets
  FROM team_members tm
  JOIN users u ON u.id = tm.user_id
  LEFT JOIN agent_skills ag ON ag.user_id = u.id
  LEFT JOIN skills s ON s.id = ag.skill_id
 WHERE tm.team_id = %(team_id)s
   AND u.role IN ('agent', 'admin')
   AND u.status = 'active'
 GROUP BY u.id
 ORDER BY proficiency DESC, open_tickets, u.id
 LIMIT 1
""").format(skill_matches=SKILL_MATCHES)


@dataclass(frozen=True)
class RoutingDecision:
    team_id: UUID | None
    rule_id: UUID | None
    assignee_id: UUID | None
    reason: str

    def as_record(self) -> dict[str, Any]:
        return {
            "team_id": _str(self.team_id),
            "rule_id": _str(self.rule_id),
            "assignee_id": _str(self.assignee_id),
            "reason": self.reason,
        }


def _str(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def route_ticket(
    conn: psycopg.Connection,
    *,
    category: str | None,
    priority: str,
    tags: Sequence[str],
    language: str | None,
) -> RoutingDecision:
    """Team by the first matching rule (else by skills), then the agent to assign within it."""
    params = {
        "category": category,
        "priority": priority,
        "language": language,
        "tags": [t.lower() for t in tags],
    }
    rule = conn.execute(MATCH_RULE_SQL, params).fetchone()
    if rule is not None:
        team_id, rule_id = rule["team_id"], rule["id"]
        reason = f'rule "{rule["name"]}" (position {rule["position"]}) → team "{rule["team_name"]}"'
    else:
        team = conn.execute(SKILL_TEAM_SQL, params).fetchone() if category else None
        if team is None:
            return RoutingDecision(
                None,
                None,
                None,
                f"no rule matched and no team has a skill for category {category!r}",
            )
        team_id, rule_id = team["id"], None
        reason = (
            f'no rule matched; team "{team["name"]}" has skills '
            f"{', '.join(team['skills'])} for category {category!r}"
        )
    agent = conn.execute(ASSIGNEE_SQL, {"team_id": team_id, "category": category}).fetchone()
    if agent is None:
        return RoutingDecision(team_id, rule_id, None, f"{reason}; no active agent in the team")
    reason += (
        f"; assignee {agent['full_name']} (proficiency {agent['proficiency']}, "
        f"{agent['open_tickets']} open tickets)"
    )
    return RoutingDecision(team_id, rule_id, agent["id"], reason)
