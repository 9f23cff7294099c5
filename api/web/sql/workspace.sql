-- The agent workspace and the customer portal (api/web/workspace.py, api/web/portal.py). One
-- statement per "-- name: <name>" line. Every statement runs as the caller (row-level security
-- decides what it sees) unless its comment says otherwise.

-- name: inbox
-- One inbox page, newest first, keyset-paginated on (created_at, id) (tickets_created_at_idx).
-- The SLA clock that matters now: first response until it happened, then resolution; none once
-- solved. The AI status is the ticket's latest AI response and the latest agent action on it.
SELECT t.id, t.number, t.subject, t.status::text AS status, t.priority::text AS priority,
       t.category, t.created_at, t.updated_at, t.assignee_id, t.team_id,
       tm.name AS team_name, cu.full_name AS customer_name, ag.full_name AS assignee_name,
       sla.due_at AS sla_due_at, sla.due_at < now() AS sla_breached,
       ai.kind AS ai_kind, ai.decision AS ai_decision, ai.handoff_reason AS ai_reason,
       ai.action AS ai_action
  FROM tickets t
  LEFT JOIN teams tm ON tm.id = t.team_id
  LEFT JOIN users cu ON cu.id = t.customer_id
  LEFT JOIN users ag ON ag.id = t.assignee_id
  CROSS JOIN LATERAL (
      SELECT CASE WHEN t.status IN ('solved', 'closed') THEN NULL
                  WHEN t.first_response_at IS NULL THEN t.first_response_due_at
                  ELSE t.resolution_due_at END AS due_at) sla
  LEFT JOIN LATERAL (
      SELECT r.kind::text AS kind, r.decision::text AS decision,
             r.handoff_reason::text AS handoff_reason,
             (SELECT f.action::text FROM ai_feedback f
               WHERE f.ai_response_id = r.id AND f.action IS NOT NULL
               ORDER BY f.created_at DESC, f.id DESC LIMIT 1) AS action
        FROM ai_responses r
       WHERE r.ticket_id = t.id
       ORDER BY r.created_at DESC, r.id DESC
       LIMIT 1) ai ON true
 WHERE (%(status)s::ticket_status IS NULL OR t.status = %(status)s::ticket_status)
   AND (%(open_only)s IS NOT TRUE OR t.status IN ('new', 'open', 'pending', 'on_hold'))
   AND (%(priority)s::ticket_priority IS NULL OR t.priority = %(priority)s::ticket_priority)
   AND (%(team_id)s::uuid IS NULL OR t.team_id = %(team_id)s::uuid)
   AND (%(assignee_id)s::uuid IS NULL OR t.assignee_id = %(assignee_id)s::uuid)
   AND (%(sla)s::text IS NULL
        OR (%(sla)s = 'breached' AND sla.due_at < now())
        OR (%(sla)s = 'soon' AND sla.due_at >= now() AND sla.due_at < now() + %(soon)s::interval))
   AND (%(after_at)s::timestamptz IS NULL
        OR (t.created_at, t.id) < (%(after_at)s::timestamptz, %(after_id)s::uuid))
 ORDER BY t.created_at DESC, t.id DESC
 LIMIT %(limit)s;

-- name: teams
SELECT id, name FROM teams ORDER BY name;

-- name: ticket
-- A ticket by its number, with the names the page shows (users and teams: staff may read them).
SELECT t.id, t.number, t.subject, t.description, t.status::text AS status,
       t.priority::text AS priority, t.channel::text AS channel, t.category, t.tags, t.language,
       t.ai_analysis, t.metadata -> 'customer_hints' AS customer_hints, t.created_at,
       t.updated_at, t.first_response_due_at, t.first_response_at, t.resolution_due_at,
       t.resolved_at, t.closed_at, t.reopened_count, t.customer_id, t.assignee_id, t.team_id,
       CASE WHEN t.status IN ('solved', 'closed') THEN NULL
            WHEN t.first_response_at IS NULL THEN t.first_response_due_at
            ELSE t.resolution_due_at END AS sla_due_at,
       now() AS now,
       tm.name AS team_name, cu.full_name AS customer_name, cu.email AS customer_email,
       ag.full_name AS assignee_name, rt.name AS routed_team_name
  FROM tickets t
  LEFT JOIN teams tm ON tm.id = t.team_id
  LEFT JOIN users cu ON cu.id = t.customer_id
  LEFT JOIN users ag ON ag.id = t.assignee_id
  LEFT JOIN teams rt ON rt.id = (t.ai_analysis -> 'routing' ->> 'team_id')::uuid
 WHERE t.number = %(number)s;

-- name: thread
-- The conversation, oldest first (customers never see internal notes or AI drafts: RLS).
SELECT m.id, m.message_type::text AS message_type, m.is_internal AS internal, m.body,
       m.metadata ->> 'ai_response_id' AS ai_response_id, m.metadata ->> 'decision' AS decision,
       (m.metadata ->> 'edited')::boolean AS edited, m.created_at, u.full_name AS author_name
  FROM conversations m
  LEFT JOIN users u ON u.id = m.author_id
 WHERE m.ticket_id = %(ticket_id)s
 ORDER BY m.created_at, m.id
 LIMIT 500;

-- name: latest_response
-- The ticket's latest AI response (suggestion, auto-reply or hand-off) for the AI panel, with the
-- latest agent decision on it, if any, and whether the customer has it already (public).
SELECT r.id, r.kind::text AS kind, r.draft, r.confidence, r.decision::text AS decision,
       r.handoff_reason::text AS handoff_reason, r.held_back, r.model, r.prompt_version,
       r.created_at, r.cited, f.action::text AS action, f.reason AS action_reason, f.created_at AS decided_at,
       du.full_name AS decided_by, coalesce(NOT m.is_internal, false) AS public
  FROM ai_responses r
  LEFT JOIN conversations m ON m.id = r.message_id
  LEFT JOIN LATERAL (
      SELECT action, reason, created_at, created_by FROM ai_feedback
       WHERE ai_response_id = r.id AND action IS NOT NULL
       ORDER BY created_at DESC, id DESC LIMIT 1) f ON true
  LEFT JOIN users du ON du.id = f.created_by
 WHERE r.ticket_id = %(ticket_id)s
 ORDER BY r.created_at DESC, r.id DESC
 LIMIT 1;

-- name: citations
-- The articles an AI response cites, in citation order (staff read internal articles too).
SELECT c.index, a.id AS article_id, a.title
  FROM jsonb_to_recordset(%(cited)s::jsonb) AS c(index int, article_id uuid)
  JOIN kb_articles a ON a.id = c.article_id
 ORDER BY c.index;

-- name: response_for_ticket
SELECT r.id, r.draft, r.decision::text AS decision, coalesce(NOT m.is_internal, false) AS public
  FROM ai_responses r
  LEFT JOIN conversations m ON m.id = r.message_id
 WHERE r.id = %(response_id)s AND r.ticket_id = %(ticket_id)s;

-- name: publish_reply
-- As the agent (the policies allow staff this on tickets they see): the reply an agent sent from
-- an AI draft becomes a public AI message carrying the response, so the customer can rate it and
-- the implicit signals see it.
INSERT INTO conversations (ticket_id, author_id, message_type, is_internal, body, metadata)
VALUES (%(ticket_id)s, %(author_id)s, 'ai', false, %(body)s,
        jsonb_build_object('ai_response_id', %(response_id)s::text, 'decision', 'sent',
                           'edited', %(edited)s, 'sent_by', %(author_id)s::text))
RETURNING id;

-- name: link_reply
-- As the agent: the response's message is now the public one it was sent as (the only change a
-- stored response accepts from staff).
UPDATE ai_responses SET message_id = %(message_id)s WHERE id = %(response_id)s;

-- name: awaiting_customer
-- After a public reply the ball is in the customer's court (as the auto-responder does).
UPDATE tickets SET status = 'pending' WHERE id = %(ticket_id)s AND status IN ('new', 'open');

-- name: lock_form
-- Serialises two submissions of the same form (a double click) for this transaction.
SELECT pg_advisory_xact_lock(hashtextextended(%(key)s, 0));

-- name: message_by_form
SELECT id FROM conversations
 WHERE ticket_id = %(ticket_id)s AND metadata ->> 'form_key' = %(key)s;

-- name: insert_message
INSERT INTO conversations (ticket_id, author_id, message_type, is_internal, body, metadata)
VALUES (%(ticket_id)s, %(author_id)s, %(message_type)s, %(internal)s, %(body)s,
        jsonb_build_object('form_key', %(key)s::text))
RETURNING id;

-- name: set_status
UPDATE tickets SET status = %(status)s::ticket_status WHERE id = %(ticket_id)s RETURNING id;

-- name: portal_tickets
-- The customer's own tickets (RLS), newest first, keyset-paginated like the inbox.
SELECT t.id, t.number, t.subject, t.status::text AS status, t.created_at, t.updated_at,
       (SELECT max(m.created_at) FROM conversations m WHERE m.ticket_id = t.id) AS last_message_at
  FROM tickets t
 WHERE t.customer_id = %(customer_id)s
   AND (%(after_at)s::timestamptz IS NULL
        OR (t.created_at, t.id) < (%(after_at)s::timestamptz, %(after_id)s::uuid))
 ORDER BY t.created_at DESC, t.id DESC
 LIMIT %(limit)s;

-- name: portal_ticket
SELECT t.id, t.number, t.subject, t.description, t.status::text AS status, t.created_at,
       t.updated_at
  FROM tickets t
 WHERE t.number = %(number)s AND t.customer_id = %(customer_id)s;

-- name: ticket_by_form
SELECT number FROM tickets WHERE customer_id = %(customer_id)s AND metadata ->> 'form_key' = %(key)s;

-- name: portal_insert_ticket
-- What a customer opens from the portal: normal priority and no category (triage decides).
INSERT INTO tickets (subject, description, channel, customer_id, metadata)
VALUES (%(subject)s, %(description)s, 'web', %(customer_id)s,
        jsonb_build_object('form_key', %(key)s::text))
RETURNING id, number;

-- name: my_signals
-- As service_role (customers have no SELECT policy on ai_feedback): what this customer already
-- said about these replies, so the page shows it instead of the buttons.
SELECT ai_response_id::text AS response_id, signal, rating FROM ai_feedback
 WHERE source = 'customer' AND created_by = %(customer_id)s
   AND ai_response_id = ANY(%(response_ids)s::uuid[]);

-- name: needs_person
-- "I need a person": the ticket goes back to the agents (a solved one is reopened).
UPDATE tickets SET status = 'open' WHERE id = %(ticket_id)s AND status IN ('pending', 'solved');
