"""The customer portal over real HTTP (cookie sessions): own tickets only, a new ticket once per
form, feedback on AI replies recorded once, CSAT on solved tickets, hostile text shown as text."""

from __future__ import annotations

import re

import httpx

from tests.api.conftest import ETHAN, OLIVIA, make_ai_response, queued_jobs
from tests.api.web.test_signin import browser, csrf_of, sign_in  # noqa: F401  (fixture)
from tests.api.web.test_workspace import FORM_KEY, make_ticket

HOSTILE = "<script>alert(1)</script>"


def customer_rows(db, response_id: str) -> list[dict]:
    return db.execute(
        "SELECT signal, rating, created_by::text AS by FROM ai_feedback "
        "WHERE ai_response_id = %s ORDER BY signal",
        (response_id,),
    ).fetchall()


def test_my_tickets_lists_only_mine_and_another_customers_ticket_is_a_404_page(browser, db):  # noqa: F811
    mine = make_ticket(db, subject="Ethan's own question")
    theirs = make_ticket(db, subject="Olivia's private question", customer_id=OLIVIA)
    sign_in(browser, ETHAN)
    listed = browser.get("/portal")
    assert listed.status_code == 200, listed.text
    assert "Ethan&#39;s own question" in listed.text
    assert "Olivia" not in listed.text
    assert browser.get(f"/portal/tickets/{mine['number']}").status_code == 200
    hidden = browser.get(f"/portal/tickets/{theirs['number']}")
    assert hidden.status_code == 404 and "Not found" in hidden.text
    assert "Olivia&#39;s private question" not in hidden.text and "Traceback" not in hidden.text
    assert browser.get("/portal/tickets/abc").status_code == 404


def test_staff_do_not_get_the_portal(browser):  # noqa: F811
    from tests.api.conftest import KENJI

    sign_in(browser, KENJI)
    assert browser.get("/portal").status_code == 404


def test_a_new_ticket_form_sent_twice_opens_one_ticket_and_queues_the_auto_responder(browser, db):  # noqa: F811
    sign_in(browser, ETHAN)
    page = browser.get("/portal/new")
    form = {
        "csrf_token": csrf_of(page),
        "form_key": FORM_KEY.search(page.text).group(1),
        "subject": "How do I export all my data as CSV?",
        "description": "I need a backup of every project.",
    }
    first = browser.post("/portal/new", data=form)
    second = browser.post("/portal/new", data=form)
    assert first.status_code == second.status_code == 303
    number = re.search(r"/portal/tickets/(\d+)", first.headers["location"]).group(1)
    assert second.headers["location"].startswith(f"/portal/tickets/{number}")
    rows = db.execute(
        "SELECT id, priority::text AS priority, channel::text AS channel FROM tickets "
        "WHERE customer_id = %s AND metadata ->> 'form_key' = %s",
        (ETHAN, form["form_key"]),
    ).fetchall()
    assert len(rows) == 1 and rows[0]["priority"] == "normal" and rows[0]["channel"] == "web"
    jobs = [
        j for j in queued_jobs(db, "auto_respond") if j["args"]["ticket_id"] == str(rows[0]["id"])
    ]
    assert len(jobs) == 1
    page = browser.get(f"/portal/tickets/{number}?done=opened")
    assert "we have your ticket" in page.text


def test_this_helped_is_recorded_once_and_shown(browser, db):  # noqa: F811
    ticket = make_ticket(db)
    response_id = make_ai_response(db, ticket_id=str(ticket["id"]), public=True)
    sign_in(browser, ETHAN)
    page = browser.get(f"/portal/tickets/{ticket['number']}")
    assert "This helped" in page.text and "Here is how to fix it." in page.text
    form = {"csrf_token": csrf_of(page), "ai_response_id": response_id, "signal": "helped"}
    first = browser.post(f"/portal/tickets/{ticket['number']}/feedback", data=form)
    second = browser.post(f"/portal/tickets/{ticket['number']}/feedback", data=form)
    assert "done=helped" in first.headers["location"]
    assert "done=duplicate" in second.headers["location"]
    assert customer_rows(db, response_id) == [{"signal": "helped", "rating": None, "by": ETHAN}]
    after = browser.get(f"/portal/tickets/{ticket['number']}").text
    assert "You said this helped" in after and 'value="helped"' not in after


def test_i_need_a_person_hands_the_ticket_back(browser, db):  # noqa: F811
    ticket = make_ticket(db, status="pending")
    response_id = make_ai_response(db, ticket_id=str(ticket["id"]), public=True)
    sign_in(browser, ETHAN)
    token = csrf_of(browser.get(f"/portal/tickets/{ticket['number']}"))
    form = {"csrf_token": token, "ai_response_id": response_id, "signal": "needs_human"}
    browser.post(f"/portal/tickets/{ticket['number']}/feedback", data=form)
    assert customer_rows(db, response_id) == [
        {"signal": "needs_human", "rating": None, "by": ETHAN}
    ]
    status = db.execute("SELECT status::text AS s FROM tickets WHERE id = %s", (ticket["id"],))
    assert status.fetchone()["s"] == "open"


def test_csat_on_a_solved_ticket(browser, db):  # noqa: F811
    ticket = make_ticket(db)
    response_id = make_ai_response(db, ticket_id=str(ticket["id"]), public=True)
    sign_in(browser, ETHAN)
    page = browser.get(f"/portal/tickets/{ticket['number']}")
    assert 'name="rating"' not in page.text  # not solved yet
    token = csrf_of(page)
    browser.post(
        f"/portal/tickets/{ticket['number']}/status", data={"csrf_token": token, "status": "solved"}
    )
    page = browser.get(f"/portal/tickets/{ticket['number']}")
    assert 'name="rating"' in page.text and "Reopen" in page.text
    for _ in range(2):
        browser.post(
            f"/portal/tickets/{ticket['number']}/feedback",
            data={"csrf_token": token, "ai_response_id": response_id, "rating": "4"},
        )
    assert customer_rows(db, response_id) == [{"signal": "csat", "rating": 4, "by": ETHAN}]
    assert "You rated our answer 4 / 5" in browser.get(f"/portal/tickets/{ticket['number']}").text


def test_customer_reply_lands_once_and_internal_notes_stay_hidden(browser, db):  # noqa: F811
    ticket = make_ticket(db)
    db.execute(
        "INSERT INTO conversations (ticket_id, message_type, is_internal, body) "
        "VALUES (%s, 'agent', true, 'SECRET internal note')",
        (ticket["id"],),
    )
    make_ai_response(db, ticket_id=str(ticket["id"]), public=False)  # an internal AI draft
    sign_in(browser, ETHAN)
    page = browser.get(f"/portal/tickets/{ticket['number']}")
    assert "SECRET" not in page.text and "Here is how to fix it." not in page.text
    form = {
        "csrf_token": csrf_of(page),
        "form_key": FORM_KEY.search(page.text).group(1),
        "body": "Any news?",
    }
    for _ in range(2):
        browser.post(f"/portal/tickets/{ticket['number']}/messages", data=form)
    n = db.execute(
        "SELECT count(*) AS n FROM conversations WHERE ticket_id = %s AND message_type = 'customer'",
        (ticket["id"],),
    ).fetchone()["n"]
    assert n == 1


def test_portal_forms_need_the_csrf_token(browser, db):  # noqa: F811
    ticket = make_ticket(db)
    response_id = make_ai_response(db, ticket_id=str(ticket["id"]), public=True)
    sign_in(browser, ETHAN)
    refused = browser.post(
        f"/portal/tickets/{ticket['number']}/feedback",
        data={"ai_response_id": response_id, "signal": "helped"},
    )
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert customer_rows(db, response_id) == []


def test_a_hostile_subject_is_text_in_inbox_ticket_view_and_portal(browser, db, api):  # noqa: F811
    ticket = make_ticket(db, subject=HOSTILE, description=f"body {HOSTILE}")
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    with httpx.Client(base_url=api.base_url) as agent:
        from tests.api.conftest import KENJI

        sign_in(agent, KENJI)
        for path in ("/app/inbox", f"/app/tickets/{ticket['number']}"):
            page = agent.get(path)
            assert escaped in page.text and HOSTILE not in page.text, path
    sign_in(browser, ETHAN)
    for path in ("/portal", f"/portal/tickets/{ticket['number']}"):
        page = browser.get(path)
        assert escaped in page.text and HOSTILE not in page.text, path
