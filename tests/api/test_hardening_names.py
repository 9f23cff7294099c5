"""A blank or odd customer name (RLS lets users set their own ``full_name``, e.g. through
Supabase's REST API) never breaks a suggestion or the auto-responder (issue 14, finding 7)."""

from __future__ import annotations

import pytest

from autocrm.core.settings import Settings
from autocrm.pipeline.answer import answer_ticket
from tests.api.conftest import ETHAN, T14
from tests.builders import make_ticket
from tests.fakes import FakeEmbedder

# ("" is refused by the schema's length check.)
ODD_NAMES = [" ", "\t\n", "42", "<script>alert(1)</script>", "🙂", "O'Neil-Smith   Jr."]


@pytest.fixture
def odd_name(db, request):
    """Ethan (the customer of ticket 14) renames himself, as the customer, through RLS."""
    before = db.execute("SELECT full_name FROM users WHERE id = %s", (ETHAN,)).fetchone()
    with db.transaction():
        db.execute("SET LOCAL ROLE authenticated")
        db.execute(
            "SELECT set_config('request.jwt.claims', %s, true)",
            (f'{{"sub": "{ETHAN}", "role": "authenticated"}}',),
        )
        renamed = db.execute(
            "UPDATE users SET full_name = %s WHERE id = %s RETURNING id", (request.param, ETHAN)
        ).fetchone()
    assert renamed is not None  # the customer may do this to their own row
    yield request.param
    db.execute("UPDATE users SET full_name = %s WHERE id = %s", (before["full_name"], ETHAN))


@pytest.mark.parametrize("odd_name", ODD_NAMES, indirect=True)
def test_a_suggestion_on_a_ticket_of_an_oddly_named_customer_is_a_200(api, odd_name):
    response = api.post(f"/tickets/{T14}/suggestions", as_="agent")
    assert response.status_code == 200, response.text
    greeting = response.json()["draft"].split("\n", 1)[0]
    assert greeting.startswith("Hi") and "<" not in greeting


@pytest.mark.parametrize("odd_name", [" "], indirect=True)
def test_the_auto_responder_answers_a_ticket_of_a_blank_named_customer(db, odd_name):
    ticket = make_ticket(
        db, customer_id=ETHAN, subject="Greeting check", description="How do I reset my password?"
    )
    result = answer_ticket(
        db,
        ticket_id=ticket["id"],
        kind="auto_reply",
        embedder=FakeEmbedder(),
        chat_model=None,
        settings=Settings(),
    )
    assert result.text.startswith("Hi,")
