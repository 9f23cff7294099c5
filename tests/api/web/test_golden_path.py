"""The golden path in a real browser: an agent signs in, opens a ticket from the inbox, streams a
suggestion, edits and sends it; the customer sees it in the portal and says it helped; each
feedback row exists exactly once. Screenshots of every page land in AUTOCRM_SCREENSHOTS."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.api.conftest import ETHAN, KENJI, MAYA, OLIVIA
from tests.api.web.test_signin import sign_in
from tests.api.web.test_workspace import make_ticket

PHONE = (375, 812)
SENT_TEXT = "We hope this helps: write back any time."


def email(db, user_id: str) -> str:
    return db.execute("SELECT email FROM users WHERE id = %s", (user_id,)).fetchone()["email"]


def press(web, key: str) -> None:
    """A key press on the page (not in a field), as a person would use a shortcut."""
    from selenium.webdriver.common.action_chains import ActionChains

    web.driver.execute_script("document.activeElement && document.activeElement.blur()")
    ActionChains(web.driver).send_keys(key).perform()


def no_horizontal_scroll(web) -> bool:
    return web.driver.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1"
    )


def feedback(db, response_id: str) -> list[dict]:
    return db.execute(
        "SELECT source::text AS source, action::text AS action, signal, final_text, "
        "created_by::text AS by FROM ai_feedback WHERE ai_response_id = %s ORDER BY created_at",
        (response_id,),
    ).fetchall()


def test_golden_path(web, db, api):
    tag = uuid.uuid4().hex[:6]
    ticket = make_ticket(
        db,
        subject=f"API rate limit on the Team plan? ({tag})",
        description="Our sync job gets 429 Too Many Requests after ~300 calls. What is the limit?",
    )
    number = ticket["number"]

    # The agent: inbox → the ticket (keyboard: j selects the first row, o opens it).
    web.sign_in(email(db, KENJI), next="/app/inbox")
    row = web.wait_for(f'tr[data-number="{number}"]')
    assert "no AI response" in row.text
    web.screenshot("inbox")
    assert no_horizontal_scroll(web)
    press(web, "j")
    assert "selected" in web.find("#inbox-table tr.ws-row").get_attribute("class")
    first_number = web.find("#inbox-table tr.ws-row").get_attribute("data-number")
    if first_number == str(number):
        press(web, "o")
    else:  # another ticket is newer (a concurrent writer): open ours by its link
        web.find(f'tr[data-number="{number}"] a').click()
    web.wait_for("#ai")
    assert web.driver.current_url.endswith(f"/app/tickets/{number}")

    # Suggest a reply (s): streamed into the draft, then confidence, decision and citations.
    press(web, "s")
    web.wait_for('#ai[data-state="draft"]', timeout=120)
    panel = web.find("#ai")
    assert panel.get_attribute("data-first-token-ms") is not None, "no token was streamed"
    draft = web.find("#draft").get_attribute("value")
    assert draft.strip()
    assert web.find("#ai-confidence").text.startswith("confidence")
    assert web.find("#ai-decision").text in ("sent", "drafted", "escalated")
    links = [a.get_attribute("href") for a in web.find_all("#citations a")]
    assert all("/app/kb/" in href for href in links)
    response_id = web.find("#ai-response-id").get_attribute("value")
    assert response_id
    web.screenshot("ticket-suggestion")
    assert no_horizontal_scroll(web)

    # Edit (e) then send.
    press(web, "e")
    assert web.find("#draft").get_attribute("readonly") is None
    web.find("#draft").send_keys("\n\n" + SENT_TEXT)
    web.find("#send-edited").click()
    web.wait_for("#flash", text="Reply sent")
    web.screenshot("ticket-sent")
    [agent_row] = feedback(db, response_id)
    assert (agent_row["source"], agent_row["action"], agent_row["by"]) == ("agent", "edited", KENJI)
    assert agent_row["final_text"].endswith(SENT_TEXT)

    # The customer: the reply in the portal, "This helped".
    web.sign_out()
    web.sign_in(email(db, ETHAN), next="/portal")
    web.wait_for(f'a[href="/portal/tickets/{number}"]').click()
    web.wait_for(".portal-helped")
    assert SENT_TEXT in web.text
    web.screenshot("portal-ticket")
    web.find(".portal-helped").click()
    web.wait_for("#flash", text="it helped")
    assert "You said this helped" in web.text
    rows = feedback(db, response_id)
    assert [(r["source"], r["action"], r["signal"]) for r in rows] == [
        ("agent", "edited", None),
        ("customer", None, "helped"),
    ]

    # On a phone: the same page, usable at 375 px.
    web.driver.set_window_size(*PHONE)
    web.open(f"/portal/tickets/{number}")
    web.wait_for(".portal-thread")
    assert no_horizontal_scroll(web)
    web.screenshot("portal-phone")
    web.open("/portal")
    web.wait_for(".portal-tickets")
    assert no_horizontal_scroll(web)
    web.screenshot("portal-list-phone")
    web.open("/portal/new")
    assert no_horizontal_scroll(web)
    web.screenshot("portal-new-phone")

    # If the AI insights page exists, the admin sees the acceptance there.
    with httpx.Client(base_url=api.base_url) as admin:
        sign_in(admin, MAYA)
        insights = admin.get("/app/insights")
    if insights.status_code == 200:
        db.execute("SELECT public.refresh_ai_views()")
        web.driver.set_window_size(1280, 800)
        web.sign_out()
        web.sign_in(email(db, MAYA), next="/app/insights")
        web.wait_for("main")
        team = db.execute(
            "SELECT tm.name FROM tickets t JOIN teams tm ON tm.id = t.team_id WHERE t.number = %s",
            (number,),
        ).fetchone()["name"]
        row = next(
            r for r in web.find_all("#effectiveness-summary tbody tr") if r.text.startswith(team)
        )
        cells = [c.text for c in row.find_elements("css selector", "td")]
        # The agent's edited send counts: an acceptance rate and an edit similarity, not "–".
        assert cells[3].endswith("%") and cells[4] != "–", cells
        web.screenshot("insights")


def test_another_customers_ticket_is_the_404_page(web, db):
    theirs = make_ticket(db, subject="Olivia's invoice question", customer_id=OLIVIA)
    web.sign_in(email(db, ETHAN), next=f"/portal/tickets/{theirs['number']}")
    web.wait_for(".error-page")
    assert "Not found" in web.text and "Olivia" not in web.text
    web.screenshot("portal-404")


@pytest.mark.parametrize("size", [(1280, 800), PHONE])
def test_a_hostile_subject_renders_as_text(web, db, size):
    hostile = "<script>alert(1)</script>"
    ticket = make_ticket(db, subject=hostile)
    web.driver.set_window_size(*size)
    web.sign_in(email(db, KENJI), next=f"/app/tickets/{ticket['number']}")
    assert web.wait_for(".ws-title").text == hostile
    web.sign_out()
    web.sign_in(email(db, ETHAN), next=f"/portal/tickets/{ticket['number']}")
    assert web.wait_for(".portal-title").text == hostile
    assert no_horizontal_scroll(web)


def test_discard_and_note_from_the_keyboard(web, db):
    from selenium.webdriver.support.ui import Select

    from tests.api.conftest import make_ai_response

    ticket = make_ticket(db)
    response_id = make_ai_response(db, ticket_id=str(ticket["id"]), public=False)
    web.sign_in(email(db, KENJI), next=f"/app/tickets/{ticket['number']}")
    web.wait_for("#ai")
    assert web.find("#draft").get_attribute("value") == "Here is how to fix it."
    press(web, "d")
    web.wait_for("#discard-box")
    Select(web.find("#discard-reason")).select_by_value("too_generic")
    web.find("#discard-submit").click()
    web.wait_for("#flash", text="Draft discarded")
    assert [(r["action"], r["source"]) for r in feedback(db, response_id)] == [
        ("rejected", "agent")
    ]

    press(web, "n")
    assert web.driver.switch_to.active_element.get_attribute("id") == "note-body"
    web.driver.switch_to.active_element.send_keys("Asked the customer for the endpoint URL")
    web.find('button[name="kind"][value="note"]').click()
    web.wait_for("#flash", text="Internal note added")
    note = web.find_all(".msg-internal")[-1]
    assert "internal note" in note.text and "endpoint URL" in note.text
