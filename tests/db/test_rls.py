"""Row-level security is what protects data: exercised as each caller, on the real database."""

from __future__ import annotations

import psycopg
import pytest

from autocrm.db.session import acting_as, user_claims
from tests.builders import make_article, make_message, make_team, make_ticket, make_user


@pytest.fixture
def org(conn: psycopg.Connection) -> dict:
    alice, bob = make_user(conn), make_user(conn)
    agent_in, agent_out = make_user(conn, role="agent"), make_user(conn, role="agent")
    admin = make_user(conn, role="admin")
    billing = make_team(conn, members=[agent_in])
    make_team(conn, members=[agent_out])
    t_alice = make_ticket(conn, customer_id=alice["id"], team_id=billing["id"])
    t_bob = make_ticket(conn, customer_id=bob["id"])
    public_msg = make_message(conn, ticket_id=t_alice["id"], author_id=alice["id"])
    note = make_message(
        conn,
        ticket_id=t_alice["id"],
        author_id=agent_in["id"],
        message_type="agent",
        is_internal=True,
        body="Refund approved internally",
    )
    ai_draft = make_message(
        conn, ticket_id=t_alice["id"], message_type="ai", is_internal=True, body="Draft reply"
    )
    articles = {
        (status, vis): make_article(conn, status=status, visibility=vis)
        for status in ("published", "draft")
        for vis in ("public", "internal")
    }
    return locals()


def _ids(conn: psycopg.Connection, query: str) -> set:
    return {row["id"] for row in conn.execute(query)}


def _as(conn, user):
    return acting_as(conn, role="authenticated", claims=user_claims(user["id"]))


def test_customer_sees_only_own_tickets(conn, org):
    with _as(conn, org["alice"]):
        assert _ids(conn, "SELECT id FROM tickets") == {org["t_alice"]["id"]}
    with _as(conn, org["bob"]):
        assert _ids(conn, "SELECT id FROM tickets") == {org["t_bob"]["id"]}


def test_customer_never_sees_internal_messages(conn, org):
    with _as(conn, org["alice"]):
        visible = _ids(conn, "SELECT id FROM conversations")
    assert visible == {org["public_msg"]["id"]}


def test_agent_sees_their_teams_tickets_only(conn, org):
    with _as(conn, org["agent_in"]):
        assert _ids(conn, "SELECT id FROM tickets") == {org["t_alice"]["id"]}
        notes = _ids(conn, "SELECT id FROM conversations")
    assert {org["note"]["id"], org["ai_draft"]["id"], org["public_msg"]["id"]} == notes
    with _as(conn, org["agent_out"]):
        assert _ids(conn, "SELECT id FROM tickets") == set()
        assert _ids(conn, "SELECT id FROM conversations") == set()


def test_admin_and_service_role_see_everything(conn, org):
    mine = {org["t_alice"]["id"], org["t_bob"]["id"]}
    with _as(conn, org["admin"]):
        assert mine <= _ids(conn, "SELECT id FROM tickets")
    with acting_as(conn, role="service_role", claims={"role": "service_role"}):
        assert mine <= _ids(conn, "SELECT id FROM tickets")
        assert org["note"]["id"] in _ids(conn, "SELECT id FROM conversations")


def test_anon_sees_only_published_public_articles(conn, org):
    created = {a["id"] for a in org["articles"].values()}
    with acting_as(conn, role="anon", claims={"role": "anon"}):
        visible = _ids(conn, "SELECT id FROM kb_articles") & created
    assert visible == {org["articles"][("published", "public")]["id"]}


def test_agent_sees_internal_and_draft_articles(conn, org):
    created = {a["id"] for a in org["articles"].values()}
    with _as(conn, org["agent_out"]):
        assert _ids(conn, "SELECT id FROM kb_articles") & created == created


def test_customer_cannot_update_another_customers_ticket(conn, org):
    with _as(conn, org["bob"]):
        updated = conn.execute(
            "UPDATE tickets SET subject = 'hijacked' WHERE id = %s RETURNING id",
            (org["t_alice"]["id"],),
        ).fetchall()
    assert updated == []
    subject = conn.execute("SELECT subject FROM tickets WHERE id = %s", (org["t_alice"]["id"],))
    assert subject.fetchone()["subject"] != "hijacked"


def test_customer_cannot_open_ticket_for_someone_else(conn, org):
    with pytest.raises(psycopg.errors.InsufficientPrivilege), _as(conn, org["bob"]):
        make_ticket(conn, customer_id=org["alice"]["id"])


def test_customer_cannot_post_internal_or_ai_messages(conn, org):
    with pytest.raises(psycopg.errors.InsufficientPrivilege), _as(conn, org["alice"]):
        make_message(
            conn,
            ticket_id=org["t_alice"]["id"],
            author_id=org["alice"]["id"],
            message_type="ai",
            body="I am the AI now",
        )


def test_customer_cannot_raise_own_role(conn, org):
    with pytest.raises(psycopg.errors.InsufficientPrivilege), _as(conn, org["alice"]):
        conn.execute("UPDATE users SET role = 'admin' WHERE id = %s", (org["alice"]["id"],))


def test_agent_reply_stamps_first_response(conn, org):
    ticket = org["t_alice"]
    assert ticket["first_response_at"] is None
    make_message(
        conn,
        ticket_id=ticket["id"],
        author_id=org["agent_in"]["id"],
        message_type="agent",
        body="Here is how to fix it.",
    )
    row = conn.execute(
        "SELECT first_response_at FROM tickets WHERE id = %s", (ticket["id"],)
    ).fetchone()
    assert row["first_response_at"] is not None


def _response(conn, ticket_id) -> str:
    return conn.execute(
        "INSERT INTO ai_responses (ticket_id, kind, draft, model, prompt_version, decision, "
        "confidence) VALUES (%s, 'suggestion', 'Draft reply', 'test', 'test_v1', 'drafted', 0.9) "
        "RETURNING id",
        (ticket_id,),
    ).fetchone()["id"]


def test_an_agent_sends_an_ai_draft_as_themselves_and_links_only_the_message(conn, org):
    response = _response(conn, org["t_alice"]["id"])
    agent = org["agent_in"]
    with _as(conn, agent):
        sent = make_message(
            conn,
            ticket_id=org["t_alice"]["id"],
            author_id=agent["id"],
            message_type="ai",
            body="Draft reply, as sent",
        )
        conn.execute(
            "UPDATE ai_responses SET message_id = %s WHERE id = %s", (sent["id"], response)
        )
    linked = conn.execute("SELECT message_id FROM ai_responses WHERE id = %s", (response,))
    assert linked.fetchone()["message_id"] == sent["id"]
    # Nothing else of the stored response changes in a user's session.
    with _as(conn, agent):
        conn.execute(
            "UPDATE ai_responses SET confidence = 1, draft = 'x' WHERE id = %s", (response,)
        )
    kept = conn.execute("SELECT confidence, draft FROM ai_responses WHERE id = %s", (response,))
    assert kept.fetchone() == {"confidence": 0.9, "draft": "Draft reply"}


def test_a_public_ai_reply_cannot_be_posted_in_another_name_or_on_an_unseen_ticket(conn, org):
    with pytest.raises(psycopg.errors.InsufficientPrivilege), _as(conn, org["agent_in"]):
        make_message(  # no author: it would pass for the auto-responder
            conn, ticket_id=org["t_alice"]["id"], message_type="ai", body="I am the AI"
        )
    with pytest.raises(psycopg.errors.InsufficientPrivilege), _as(conn, org["agent_out"]):
        make_message(
            conn,
            ticket_id=org["t_alice"]["id"],
            author_id=org["agent_out"]["id"],
            message_type="ai",
            body="Not my team's ticket",
        )
    response = _response(conn, org["t_alice"]["id"])
    with _as(conn, org["agent_out"]):  # a response of a ticket they cannot see: nothing to update
        updated = conn.execute(
            "UPDATE ai_responses SET message_id = NULL WHERE id = %s", (response,)
        ).rowcount
    assert updated == 0
