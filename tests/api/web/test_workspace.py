"""The agent workspace over real HTTP (cookie sessions, no browser): inbox filters and keyset pages,
the ticket view, and the actions on an AI draft recorded exactly once."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.api.conftest import ETHAN, KENJI, MAYA, PRIYA, TEAM_INTEGRATIONS, make_ai_response
from tests.api.web.test_signin import browser, csrf_of, sign_in  # noqa: F401  (fixture)

FORM_KEY = re.compile(r'name="form_key" value="([0-9a-f]{32})"')


def make_ticket(db, *, subject: str | None = None, **values) -> dict:
    """Ethan's ticket in Kenji's team and queue (Kenji sees it; Priya, on another team, does not)."""
    row = {
        "subject": subject or f"Webhook retries {uuid.uuid4().hex[:6]}",
        "description": "Our webhook endpoint was down for an hour. Do you retry failed deliveries?",
        "customer_id": ETHAN,
        "team_id": TEAM_INTEGRATIONS,
        "assignee_id": KENJI,
    } | values
    columns = ", ".join(row)
    marks = ", ".join(["%s"] * len(row))
    return db.execute(
        f"INSERT INTO tickets ({columns}) VALUES ({marks}) RETURNING id, number", list(row.values())
    ).fetchone()


@pytest.fixture
def agent(browser):  # noqa: F811
    sign_in(browser, KENJI)
    return browser


def feedback_rows(db, response_id: str) -> list[dict]:
    return db.execute(
        "SELECT action::text AS action, final_text, reason, event_key, created_by::text AS by "
        "FROM ai_feedback WHERE ai_response_id = %s ORDER BY created_at",
        (response_id,),
    ).fetchall()


def test_inbox_lists_what_rls_shows_with_ai_status_and_filters(agent, db):
    ticket = make_ticket(db, priority="urgent")
    make_ai_response(db, ticket_id=str(ticket["id"]), public=False)
    page = agent.get("/app/inbox")
    assert page.status_code == 200, page.text
    assert "Server-Timing" in page.headers
    row = re.search(
        rf'<tr class="ws-row" data-number="{ticket["number"]}".*?</tr>', page.text, re.S
    )
    assert row, "the new ticket is in the inbox"
    assert "draft waiting" in row.group(0) and "urgent" in row.group(0)

    urgent = agent.get("/app/inbox", params={"priority": "urgent", "mine": "1"}).text
    numbers = set(re.findall(r'data-number="(\d+)"', urgent))
    assert str(ticket["number"]) in numbers
    low = agent.get("/app/inbox", params={"priority": "low"}).text
    assert f'data-number="{ticket["number"]}"' not in low

    # Priya is on another team: RLS hides the ticket from her inbox and its page from her.
    with httpx.Client(base_url=str(agent.base_url)) as priya:
        sign_in(priya, PRIYA)
        assert f'data-number="{ticket["number"]}"' not in priya.get("/app/inbox?status=all").text
        hidden = priya.get(f"/app/tickets/{ticket['number']}")
        assert hidden.status_code == 404 and "Not found" in hidden.text
        assert "Traceback" not in hidden.text


def test_inbox_sla_filters(agent, db):
    late = make_ticket(db)
    db.execute(
        "UPDATE tickets SET first_response_due_at = now() - interval '1 hour' WHERE id = %s",
        (late["id"],),
    )
    soon = make_ticket(db)
    db.execute(
        "UPDATE tickets SET first_response_due_at = now() + interval '30 minutes' WHERE id = %s",
        (soon["id"],),
    )
    breached = agent.get("/app/inbox", params={"sla": "breached", "status": "all"}).text
    due = agent.get("/app/inbox", params={"sla": "soon", "status": "all"}).text
    assert f'data-number="{late["number"]}"' in breached
    assert f'data-number="{soon["number"]}"' not in breached
    assert f'data-number="{soon["number"]}"' in due
    assert agent.get("/app/inbox", params={"sla": "nonsense"}).status_code == 422


def test_inbox_keyset_pages_cover_every_ticket_once(db, browser):  # noqa: F811
    sign_in(browser, MAYA)  # the admin sees every ticket
    expected = db.execute("SELECT count(*) AS n FROM tickets").fetchone()["n"]
    seen: list[str] = []
    url = "/app/inbox?status=all"
    for _ in range(100):
        page = browser.get(url)
        assert page.status_code == 200
        seen += re.findall(r'<tr class="ws-row" data-number="(\d+)"', page.text)
        more = re.search(r'href="(/app/inbox\?[^"]*cursor=[^"]+)"', page.text)
        if not more:
            break
        url = more.group(1).replace("&amp;", "&")
    assert len(seen) == len(set(seen)) == expected


def test_ticket_view_shows_thread_triage_and_stored_draft(agent, db):
    ticket = make_ticket(db)
    db.execute(
        "UPDATE tickets SET ai_analysis = %s WHERE id = %s",
        (
            '{"category": "integrations", "sentiment": "negative", "language": "en", '
            '"intent": "webhook_question", "suggested_priority": "high", "confidence": 0.8, '
            '"routing": {"reason": "rule: webhooks"}}',
            ticket["id"],
        ),
    )
    db.execute(
        "INSERT INTO conversations (ticket_id, author_id, message_type, is_internal, body) "
        "VALUES (%s, %s, 'agent', true, 'Check the delivery log first')",
        (ticket["id"], KENJI),
    )
    response_id = make_ai_response(db, ticket_id=str(ticket["id"]), public=False)
    page = agent.get(f"/app/tickets/{ticket['number']}")
    assert page.status_code == 200, page.text
    text = page.text
    assert "internal note" in text and "Check the delivery log first" in text
    assert "internal draft" in text
    assert "negative" in text and "rule: webhooks" in text and "webhook question" in text
    assert f'value="{response_id}"' in text and "Here is how to fix it." in text
    assert 'data-shortcut="s"' in text and 'data-shortcut="a"' in text


def test_a_held_back_auto_reply_says_why_it_is_a_draft(agent, db):
    ticket = make_ticket(db)
    response_id = make_ai_response(db, ticket_id=str(ticket["id"]), public=False, kind="auto_reply")
    db.execute("UPDATE ai_responses SET held_back = 'follow-up' WHERE id = %s", (response_id,))
    text = agent.get(f"/app/tickets/{ticket['number']}").text
    assert 'id="ai-held-back"' in text and "held back: follow-up" in text
    other = make_ticket(db)
    make_ai_response(db, ticket_id=str(other["id"]), public=False)
    assert 'id="ai-held-back"' not in agent.get(f"/app/tickets/{other['number']}").text


def test_unknown_and_malformed_ticket_numbers_are_404_pages(agent):
    for path in ("/app/tickets/99999999", "/app/tickets/abc", "/app/tickets/1" + "0" * 30):
        page = agent.get(path)
        assert page.status_code == 404, path
        assert "Not found" in page.text and "Traceback" not in page.text


def test_send_as_is_records_accepted_once_and_publishes_once(agent, db):
    ticket = make_ticket(db)
    response_id = make_ai_response(db, ticket_id=str(ticket["id"]), public=False)
    page = agent.get(f"/app/tickets/{ticket['number']}")
    form = {"csrf_token": csrf_of(page), "ai_response_id": response_id, "action": "accept"}
    first = agent.post(f"/app/tickets/{ticket['number']}/reply", data=form)
    second = agent.post(f"/app/tickets/{ticket['number']}/reply", data=form)  # a double click
    assert first.status_code == 303 and "done=sent" in first.headers["location"]
    assert second.status_code == 303 and "done=duplicate" in second.headers["location"]
    rows = feedback_rows(db, response_id)
    assert [(r["action"], r["by"]) for r in rows] == [("accepted", KENJI)]
    public = db.execute(
        "SELECT m.body, m.message_type::text AS type, m.author_id::text AS author FROM conversations m"
        " WHERE m.ticket_id = %s AND NOT m.is_internal",
        (ticket["id"],),
    ).fetchall()
    assert public == [{"body": "Here is how to fix it.", "type": "ai", "author": KENJI}]
    linked = db.execute(
        "SELECT m.is_internal FROM ai_responses r JOIN conversations m ON m.id = r.message_id "
        "WHERE r.id = %s",
        (response_id,),
    ).fetchone()
    assert linked["is_internal"] is False
    status = db.execute("SELECT status::text AS s FROM tickets WHERE id = %s", (ticket["id"],))
    assert status.fetchone()["s"] == "pending"
    # A different decision on the same draft later lands on the first one too.
    again = agent.post(
        f"/app/tickets/{ticket['number']}/reply",
        data=form | {"action": "discard", "reason": "incorrect"},
    )
    assert "done=duplicate" in again.headers["location"]
    assert len(feedback_rows(db, response_id)) == 1


def test_edit_then_send_stores_the_final_text(agent, db):
    ticket = make_ticket(db)
    response_id = make_ai_response(db, ticket_id=str(ticket["id"]), public=False)
    token = csrf_of(agent.get(f"/app/tickets/{ticket['number']}"))
    final = "Hi Ethan,\r\n\r\nYes: we retry failed deliveries for 24 hours."
    form = {"csrf_token": token, "ai_response_id": response_id, "action": "edit"}
    response = agent.post(
        f"/app/tickets/{ticket['number']}/reply", data=form | {"final_text": final}
    )
    assert "done=sent" in response.headers["location"]
    rows = feedback_rows(db, response_id)
    assert [(r["action"], r["final_text"]) for r in rows] == [("edited", final.replace("\r", ""))]
    body = db.execute(
        "SELECT body FROM conversations WHERE ticket_id = %s AND NOT is_internal", (ticket["id"],)
    ).fetchone()["body"]
    assert body == final.replace("\r", "")


def test_discard_needs_a_reason_and_is_recorded_once(agent, db):
    ticket = make_ticket(db)
    response_id = make_ai_response(db, ticket_id=str(ticket["id"]), public=False)
    token = csrf_of(agent.get(f"/app/tickets/{ticket['number']}"))
    form = {"csrf_token": token, "ai_response_id": response_id, "action": "discard"}
    missing = agent.post(f"/app/tickets/{ticket['number']}/reply", data=form)
    assert missing.status_code == 422 and "reason" in missing.text
    for _ in range(2):
        agent.post(
            f"/app/tickets/{ticket['number']}/reply",
            data=form | {"reason": "outdated", "comment": "Limits changed"},
        )
    rows = feedback_rows(db, response_id)
    assert [(r["action"], r["reason"]) for r in rows] == [("rejected", "outdated")]
    public = db.execute(
        "SELECT count(*) AS n FROM conversations WHERE ticket_id = %s AND NOT is_internal",
        (ticket["id"],),
    ).fetchone()["n"]
    assert public == 0


def test_internal_note_and_status_change_land_once(agent, db):
    ticket = make_ticket(db)
    page = agent.get(f"/app/tickets/{ticket['number']}")
    form = {
        "csrf_token": csrf_of(page),
        "form_key": FORM_KEY.search(page.text).group(1),
        "body": "Customer is on the legacy plan",
        "kind": "note",
    }
    for _ in range(2):
        done = agent.post(f"/app/tickets/{ticket['number']}/messages", data=form)
        assert done.status_code == 303
    notes = db.execute(
        "SELECT is_internal, message_type::text AS type FROM conversations WHERE ticket_id = %s",
        (ticket["id"],),
    ).fetchall()
    assert notes == [{"is_internal": True, "type": "agent"}]
    changed = agent.post(
        f"/app/tickets/{ticket['number']}/status",
        data={"csrf_token": form["csrf_token"], "status": "on_hold"},
    )
    assert changed.status_code == 303
    status = db.execute("SELECT status::text AS s FROM tickets WHERE id = %s", (ticket["id"],))
    assert status.fetchone()["s"] == "on_hold"


def test_page_forms_without_the_csrf_token_are_refused(agent, db):
    ticket = make_ticket(db)
    response_id = make_ai_response(db, ticket_id=str(ticket["id"]), public=False)
    refused = agent.post(
        f"/app/tickets/{ticket['number']}/reply",
        data={"ai_response_id": response_id, "action": "accept"},
    )
    assert refused.status_code == 403 and "CSRF" in refused.text
    forged = agent.post(
        f"/app/tickets/{ticket['number']}/status", data={"status": "closed", "csrf_token": "0" * 64}
    )
    assert forged.status_code == 403
    assert feedback_rows(db, response_id) == []
    status = db.execute("SELECT status::text AS s FROM tickets WHERE id = %s", (ticket["id"],))
    assert status.fetchone()["s"] == "new"


def test_customers_cannot_use_the_workspace(browser, db):  # noqa: F811
    ticket = make_ticket(db)
    sign_in(browser, ETHAN)
    assert browser.get("/app/inbox").status_code == 404
    assert browser.get(f"/app/tickets/{ticket['number']}").status_code == 404


def test_a_sent_auto_reply_is_shown_as_sent_and_never_sent_again(agent, db):
    ticket = make_ticket(db)
    response_id = make_ai_response(db, ticket_id=str(ticket["id"]), public=True, kind="auto_reply")
    row = re.search(
        rf'data-number="{ticket["number"]}".*?</tr>', agent.get("/app/inbox").text, re.S
    ).group(0)
    assert "auto-answered" in row
    page = agent.get(f"/app/tickets/{ticket['number']}")
    assert "was sent to the customer" in page.text
    assert 'id="ai-response-id" value=""' in page.text
    sent = agent.post(
        f"/app/tickets/{ticket['number']}/reply",
        data={"csrf_token": csrf_of(page), "ai_response_id": response_id, "action": "accept"},
    )
    assert "done=duplicate" in sent.headers["location"]
    assert feedback_rows(db, response_id) == []
    public = db.execute(
        "SELECT count(*) AS n FROM conversations WHERE ticket_id = %s AND NOT is_internal",
        (ticket["id"],),
    ).fetchone()["n"]
    assert public == 1


def test_two_simultaneous_sends_of_one_draft_record_and_publish_once(agent, db):
    from concurrent.futures import ThreadPoolExecutor

    ticket = make_ticket(db)
    response_id = make_ai_response(db, ticket_id=str(ticket["id"]), public=False)
    token = csrf_of(agent.get(f"/app/tickets/{ticket['number']}"))
    form = {"csrf_token": token, "ai_response_id": response_id, "action": "accept"}
    with ThreadPoolExecutor(4) as pool:
        done = list(
            pool.map(
                lambda _: agent.post(f"/app/tickets/{ticket['number']}/reply", data=form),
                range(4),
            )
        )
    outcomes = sorted(r.headers["location"].split("done=")[1].split("#")[0] for r in done)
    assert outcomes == ["duplicate", "duplicate", "duplicate", "sent"]
    assert len(feedback_rows(db, response_id)) == 1
    public = db.execute(
        "SELECT count(*) AS n FROM conversations WHERE ticket_id = %s AND NOT is_internal",
        (ticket["id"],),
    ).fetchone()["n"]
    assert public == 1
