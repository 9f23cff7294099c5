-- Implicit feedback signals, derived by pipeline/feedback.py:derive_implicit_signals (a periodic job).
-- One statement per signal, each introduced by a "-- name: <signal>" line. Parameters: %(now)s (the
-- run's clock: later events are left for a later run), %(since)s (responses older than this are no
-- longer looked at) and %(window)s (reply window). The event_key "<response id>:<signal>" makes a
-- re-run a no-op. A "sent" response is an AI reply the customer received: a public AI message.

-- name: replied_again
-- The customer wrote again within the window after a sent reply: it did not settle the question.
-- value: seconds from the reply to the customer's next message.
INSERT INTO ai_feedback (ai_response_id, source, signal, value, event_key)
SELECT r.id, 'system', 'replied_again', extract(epoch FROM min(c.created_at) - m.created_at),
       r.id::text || ':replied_again'
  FROM ai_responses r
  JOIN conversations m ON m.id = r.message_id AND NOT m.is_internal
  JOIN conversations c ON c.ticket_id = r.ticket_id AND c.message_type = 'customer'
                      AND c.created_at > m.created_at
                      AND c.created_at <= least(m.created_at + %(window)s, %(now)s)
 WHERE r.decision = 'sent' AND r.created_at >= %(since)s AND m.created_at <= %(now)s
 GROUP BY r.id, m.created_at
ON CONFLICT (event_key) DO NOTHING;

-- name: reopened
-- The ticket went from solved/closed back to active. A sent reply is the first response to a new
-- ticket, so any reopen came after it; tickets keep no reopen time (only reopened_count), so the
-- window is applied to when this job sees it: a reopen first seen after the window is not counted.
-- value: the ticket's reopened_count when seen.
INSERT INTO ai_feedback (ai_response_id, source, signal, value, event_key)
SELECT r.id, 'system', 'reopened', t.reopened_count, r.id::text || ':reopened'
  FROM ai_responses r
  JOIN conversations m ON m.id = r.message_id AND NOT m.is_internal
  JOIN tickets t ON t.id = r.ticket_id
 WHERE r.decision = 'sent' AND r.created_at >= %(since)s AND t.reopened_count > 0
   AND %(now)s BETWEEN m.created_at AND m.created_at + %(window)s
ON CONFLICT (event_key) DO NOTHING;

-- name: deflected
-- Solved with no public agent message after the AI reply: the AI answer was enough. (A later reopen
-- adds 'reopened'; the views and the score then do not count it as deflected.)
-- value: seconds from the reply to resolution.
INSERT INTO ai_feedback (ai_response_id, source, signal, value, event_key)
SELECT r.id, 'system', 'deflected', extract(epoch FROM t.resolved_at - m.created_at),
       r.id::text || ':deflected'
  FROM ai_responses r
  JOIN conversations m ON m.id = r.message_id AND NOT m.is_internal
  JOIN tickets t ON t.id = r.ticket_id
 WHERE r.decision = 'sent' AND r.created_at >= %(since)s
   AND t.status IN ('solved', 'closed') AND t.resolved_at <= %(now)s
   AND NOT EXISTS (SELECT 1 FROM conversations a
                    WHERE a.ticket_id = r.ticket_id AND a.message_type = 'agent'
                      AND NOT a.is_internal AND a.created_at > m.created_at)
ON CONFLICT (event_key) DO NOTHING;

-- name: first_response
-- Time to first response of the ticket (AI or human), on its auto-response (one per ticket): how
-- long customers waited when the AI sent, drafted or handed off. value: seconds.
INSERT INTO ai_feedback (ai_response_id, source, signal, value, event_key)
SELECT r.id, 'system', 'first_response', extract(epoch FROM t.first_response_at - t.created_at),
       r.id::text || ':first_response'
  FROM ai_responses r
  JOIN tickets t ON t.id = r.ticket_id
 WHERE r.kind = 'auto_reply' AND r.created_at >= %(since)s
   AND t.first_response_at IS NOT NULL AND t.first_response_at <= %(now)s
ON CONFLICT (event_key) DO NOTHING;
