"""Triage on the real database: analysis (real embedder where quality matters), routing by rules and
skills, assignment, and the write-back (priority never lowered, SLA due times follow)."""

from __future__ import annotations

import json
import sys
import types
from datetime import timedelta
from uuid import UUID

import pytest
from pydantic import BaseModel

from autocrm.pipeline import triage
from autocrm.pipeline.chat import ChatMessage, ChatModelError, ChatResult
from autocrm.pipeline.triage import (
    OFFLINE_MODEL,
    RoutingDecision,
    TicketAnalysis,
    TicketNotFound,
    TriageOutput,
    analyse_ticket,
    apply_triage,
    classifier,
    route_ticket,
)
from tests.builders import make_team, make_ticket, make_user
from tests.fakes import FakeEmbedder

BILLING_TEAM = UUID("33333333-0000-4000-8000-000000000001")
TECH_TEAM = UUID("33333333-0000-4000-8000-000000000002")
INTEGRATIONS_TEAM = UUID("33333333-0000-4000-8000-000000000003")
RULE_URGENT = UUID("55555555-0000-4000-8000-000000000001")
RULE_BILLING = UUID("55555555-0000-4000-8000-000000000002")
RULE_API = UUID("55555555-0000-4000-8000-000000000004")
RULE_GERMAN_FRENCH_ONBOARDING = UUID("55555555-0000-4000-8000-000000000007")
RULE_CATCH_ALL = UUID("55555555-0000-4000-8000-000000000008")
DANIEL = UUID("11111111-0000-4000-8000-000000000002")  # Billing lead, billing proficiency 5
KENJI = UUID("11111111-0000-4000-8000-000000000007")  # Integrations lead, api proficiency 5

BILLING_TICKET = ("Charged twice", "I was charged twice for my annual plan, please refund")
API_TICKET = (
    "API rate limit exceeded",
    "Our nightly sync gets HTTP 429 Too Many Requests from the REST API after a few hundred "
    "calls. What is the rate limit per minute for our plan, and should we back off?",
)


def analysis(**overrides: object) -> TicketAnalysis:
    values: dict = {
        "category": "billing",
        "priority": "normal",
        "sentiment": "neutral",
        "language": "en",
        "intent": "billing_question",
        "confidence": 0.9,
        "model": OFFLINE_MODEL,
    }
    return TicketAnalysis(**(values | overrides))


def no_routing() -> RoutingDecision:
    return RoutingDecision(None, None, None, "test: no routing")


def team_members(conn, team_id: UUID) -> set[UUID]:
    rows = conn.execute("SELECT user_id FROM team_members WHERE team_id = %s", [team_id])
    return {r["user_id"] for r in rows}


# --- Offline analysis --------------------------------------------------------------------------


def test_billing_question_is_billing_routed_to_billing_team_by_rule(conn, real_embedder):
    subject, description = BILLING_TICKET
    result = analyse_ticket(conn, subject=subject, description=description, embedder=real_embedder)

    assert result.category == "billing"
    assert result.model == OFFLINE_MODEL
    assert result.intent == "refund_request"
    assert result.language == "en"
    assert result.priority == "high"  # "charged twice": money taken wrongly
    assert result.signals["priority"]["high"] == ["charged twice"]
    assert 0 < result.confidence <= 1
    scores = result.signals["category_scores"]
    assert next(iter(scores)) == "billing"  # best first, every category listed
    assert len(scores) == 8

    routing = route_ticket(
        conn, category=result.category, priority=result.priority, tags=[], language=result.language
    )
    assert (routing.team_id, routing.rule_id) == (BILLING_TEAM, RULE_BILLING)
    assert routing.assignee_id in team_members(conn, BILLING_TEAM)
    assert routing.assignee_id == DANIEL  # the only billing proficiency 5 in the team
    assert 'rule "Billing questions" (position 20)' in routing.reason


def test_api_rate_limit_ticket_is_api_routed_to_integrations(conn, real_embedder):
    subject, description = API_TICKET
    result = analyse_ticket(conn, subject=subject, description=description, embedder=real_embedder)

    assert result.category == "api"
    assert result.intent == "rate_limit_problem"
    routing = route_ticket(
        conn, category=result.category, priority=result.priority, tags=[], language=result.language
    )
    assert (routing.team_id, routing.rule_id) == (INTEGRATIONS_TEAM, RULE_API)
    # Kenji (api 5, active) over Aisha (api 3, offline: not assignable anyway).
    assert routing.assignee_id == KENJI


def test_outage_is_urgent_and_negative(conn, real_embedder):
    result = analyse_ticket(
        conn,
        subject="Flowdesk not loading",
        description="everything is down for all our users!!!",
        embedder=real_embedder,
    )
    assert (result.priority, result.sentiment, result.intent) == (
        "urgent",
        "negative",
        "outage_report",
    )
    assert "everything is down" in result.signals["priority"]["urgent"]
    assert result.signals["sentiment"]["emphasis"] is True


def test_german_ticket_is_detected_as_german(conn, real_embedder):
    result = analyse_ticket(
        conn,
        subject="Rechnung korrigieren",
        description="Hallo, auf unserer letzten Rechnung fehlt die Umsatzsteuer-ID. Können Sie "
        "die Rechnung bitte neu ausstellen? Vielen Dank!",
        embedder=real_embedder,
    )
    assert result.language == "de"
    # MiniLM is English-only; "Rechnung" (invoice) still gives the category, as a keyword.
    assert result.category == "billing"
    assert result.intent == "invoice_problem"  # "fehlt" (is missing)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Bonjour, je ne peux pas exporter mon projet depuis hier. Merci de votre aide.", "fr"),
        ("Hola, no puedo acceder a mi cuenta desde ayer. Gracias por la ayuda.", "es"),
        ("Hallo, ik kan niet inloggen sinds gisteren. Kunnen jullie mij helpen?", "nl"),
        ("Ciao, non riesco ad accedere al mio account da ieri. Grazie per l'aiuto.", "it"),
        ("Olá, não consigo acessar minha conta desde ontem. Obrigado pela ajuda.", "pt"),
        ("Hi, I cannot log in since yesterday. Can you help me with this?", "en"),
        ("CSV export", "en"),  # too little to tell: the default, and the signals say so
    ],
)
def test_language_profiles(text, language):
    assert triage.detect_language(text.lower())[0] == language


@pytest.mark.parametrize(
    ("subject", "description", "priority", "sentiment"),
    [
        (
            "Security breach?",
            "We think there was a security breach in our workspace.",
            "urgent",
            "negative",
        ),
        ("Data loss", "After the sync we had data loss in three projects.", "urgent", "negative"),
        ("Can't log in", "I can't log in since this morning, please help asap", "high", "neutral"),
        ("Discount for charities?", "Do you offer a discount for charities?", "low", "neutral"),
        ("Export", "The CSV export fails with an error.", "normal", "neutral"),
        (
            "Love the new board view",
            "Great work, thank you, the team is delighted.",
            "normal",
            "positive",
        ),
        ("STILL NOT FIXED", "THIS IS RIDICULOUS, WE ARE WAITING FOR DAYS", "normal", "negative"),
    ],
)
def test_priority_and_sentiment_signals(conn, subject, description, priority, sentiment):
    result = analyse_ticket(conn, subject=subject, description=description, embedder=FakeEmbedder())
    assert (result.priority, result.sentiment) == (priority, sentiment)


def test_category_centroids_are_cached_and_a_new_category_invalidates_them(conn, monkeypatch):
    monkeypatch.setattr(classifier, "_centroids", {})  # start cold whatever ran before
    embedder = FakeEmbedder(name="fake-cache-test")
    analyse_ticket(conn, subject="Invoice", description="Where is my invoice?", embedder=embedder)
    assert len(embedder.calls) == 2 and embedder.calls[0] == 1  # the ticket, then the categories
    embedder.calls.clear()

    analyse_ticket(conn, subject="Invoice", description="Where is my invoice?", embedder=embedder)
    assert embedder.calls == [1]  # only the ticket: the centroids came from the cache

    conn.execute(
        "INSERT INTO kb_categories (slug, name, description) "
        "VALUES ('gardening', 'Gardening', 'tomato seedlings compost watering')"
    )
    embedder.calls.clear()
    result = analyse_ticket(
        conn,
        subject="tomato seedlings",
        description="compost watering tomato seedlings",
        embedder=embedder,
    )
    assert len(embedder.calls) == 2  # recomputed with the new category
    assert result.category == "gardening"


def test_no_categories_means_no_category(conn):
    conn.execute("DELETE FROM kb_categories")
    result = analyse_ticket(
        conn, subject="Hello", description="Anyone there?", embedder=FakeEmbedder()
    )
    assert (result.category, result.confidence) == (None, 0.0)
    assert result.intent == "general_question"


# --- With a chat model -----------------------------------------------------------------------


class StubChatModel:
    """Implements the ChatModel interface with a canned answer (or error), recording each call."""

    def __init__(self, answer: dict | None = None, *, error: Exception | None = None):
        self.name = "stub-llm"
        self.answer = answer
        self.error = error
        self.calls: list[dict] = []

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        temperature: float = 0.2,
        max_tokens: int = 600,
        schema: type[BaseModel] | None = None,
    ) -> ChatResult:
        self.calls.append({"messages": messages, "temperature": temperature, "schema": schema})
        if self.error is not None:
            raise self.error
        text = json.dumps(self.answer)
        parsed = schema.model_validate_json(text) if schema is not None else None
        return ChatResult(text=text, model="stub-llm-2025", parsed=parsed)

    def stream(self, messages, *, temperature=0.2, max_tokens=600):
        raise NotImplementedError("triage never streams")


class StubPrompt:
    version = "triage_test"

    def __init__(self) -> None:
        self.values: dict = {}

    def render(self, **values: object) -> list[ChatMessage]:
        self.values = values
        return [
            ChatMessage(role="system", content="Classify."),
            ChatMessage(role="user", content=f"{values['subject']}\n{values['description']}"),
        ]


MODEL_ANSWER = {
    "category": "security",
    "priority": "urgent",
    "sentiment": "very_negative",
    "language": "EN-us",
    "intent": "Compliance Documents",
    "confidence": 0.83,
}


def test_chat_model_answer_is_used(conn):
    model, prompt = StubChatModel(MODEL_ANSWER), StubPrompt()
    subject, description = BILLING_TICKET
    result = analyse_ticket(
        conn,
        subject=subject,
        description=description,
        embedder=FakeEmbedder(),
        chat_model=model,
        prompt=prompt,
    )
    assert result.model_dump(exclude={"signals"}) == {
        "category": "security",
        "priority": "high",  # the model's "urgent", capped: no urgent signal in a billing ticket
        "sentiment": "negative",
        "language": "en",
        "intent": "compliance_documents",
        "confidence": 0.83,
        "model": "stub-llm-2025",
    }
    (call,) = model.calls
    assert call["schema"] is TriageOutput
    assert call["temperature"] == 0.0
    assert prompt.values["subject"] == subject
    assert "billing" in prompt.values["categories"].split(", ")
    assert result.signals["category_source"] == "llm"
    assert result.signals["prompt_version"] == "triage_test"
    assert result.signals["offline"]["model"] == OFFLINE_MODEL


def test_unknown_category_from_the_model_falls_back_to_offline(conn, real_embedder):
    model = StubChatModel(MODEL_ANSWER | {"category": "astrology", "language": "German"})
    subject, description = BILLING_TICKET
    result = analyse_ticket(
        conn,
        subject=subject,
        description=description,
        embedder=real_embedder,
        chat_model=model,
        prompt=StubPrompt(),
    )
    assert result.category == "billing"
    assert result.language == "en"  # "German" is not an ISO code: the offline language
    assert result.sentiment == "negative"  # the rest is still the model's
    assert result.confidence == result.signals["offline"]["confidence"]
    assert result.signals["category_source"] == "offline"
    assert result.signals["llm"]["category"] == "astrology"


def test_failing_chat_model_falls_back_to_offline(conn):
    model = StubChatModel(error=ChatModelError("model unreachable"))
    result = analyse_ticket(
        conn,
        subject="Invoice",
        description="Where is my invoice?",
        embedder=FakeEmbedder(),
        chat_model=model,
        prompt=StubPrompt(),
    )
    assert result.model == OFFLINE_MODEL
    assert "model unreachable" in result.signals["llm_error"]


def test_prompt_is_loaded_lazily_when_not_given(conn, monkeypatch):
    prompt = StubPrompt()
    loaded: list[str] = []

    def load_prompt(name: str) -> StubPrompt:
        loaded.append(name)
        return prompt

    monkeypatch.setitem(
        sys.modules, "autocrm.pipeline.prompts", types.SimpleNamespace(load_prompt=load_prompt)
    )
    analyse_ticket(
        conn,
        subject="Invoice",
        description="Where is my invoice?",
        embedder=FakeEmbedder(),
        chat_model=StubChatModel(MODEL_ANSWER),
    )
    assert loaded == ["triage"]
    assert prompt.values["subject"] == "Invoice"


# --- Routing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "priority", "tags", "language", "rule", "team"),
    [
        # Matches rules 10 (urgent + outage tag) and 20 (billing): the lower position wins.
        ("billing", "urgent", ["outage"], "en", RULE_URGENT, TECH_TEAM),
        # Matches rules 20 (billing) and 50 (webhook tag).
        ("billing", "normal", ["webhook"], "en", RULE_BILLING, BILLING_TEAM),
        # Urgent alone is not enough for rule 10: every condition must hold.
        ("api", "urgent", [], "en", RULE_API, INTEGRATIONS_TEAM),
        ("getting-started", "normal", [], "de", RULE_GERMAN_FRENCH_ONBOARDING, BILLING_TEAM),
        ("getting-started", "normal", [], "en", RULE_CATCH_ALL, TECH_TEAM),
        (None, "normal", [], None, RULE_CATCH_ALL, TECH_TEAM),
    ],
)
def test_seed_rules_first_match_wins(conn, category, priority, tags, language, rule, team):
    routing = route_ticket(conn, category=category, priority=priority, tags=tags, language=language)
    assert (routing.rule_id, routing.team_id) == (rule, team)


def test_rules_are_tried_by_position_not_insertion_order(conn):
    conn.execute("UPDATE routing_rules SET is_active = false")
    first, second = make_team(conn), make_team(conn)
    later = conn.execute(
        "INSERT INTO routing_rules (name, position, conditions, team_id) "
        """VALUES ('later', 2, '{"category": ["x"]}', %s) RETURNING id""",
        [second["id"]],
    ).fetchone()["id"]
    earlier = conn.execute(
        "INSERT INTO routing_rules (name, position, conditions, team_id) "
        """VALUES ('earlier', 1, '{"tags_any": ["vip"], "language": ["en"]}', %s) RETURNING id""",
        [first["id"]],
    ).fetchone()["id"]

    def route(**kw):
        return route_ticket(conn, **({"priority": "normal", "language": "en"} | kw))

    assert route(category="x", tags=["VIP"]).rule_id == earlier  # tags compared in lower case
    assert route(category="x", tags=["other"]).rule_id == later
    conn.execute("UPDATE routing_rules SET is_active = false WHERE id = %s", [earlier])
    assert route(category="x", tags=["vip"]).rule_id == later
    conn.execute("UPDATE teams SET is_active = false WHERE id = %s", [second["id"]])
    assert route(category="x", tags=["vip"]).team_id is None  # inactive team: rule skipped


def test_without_a_matching_rule_the_team_with_the_category_skill_is_chosen(conn):
    conn.execute("UPDATE routing_rules SET is_active = false")
    routing = route_ticket(conn, category="data-export", priority="normal", tags=[], language="en")
    assert (routing.team_id, routing.rule_id) == (TECH_TEAM, None)
    assert routing.assignee_id in team_members(conn, TECH_TEAM)
    assert "no rule matched" in routing.reason

    routing = route_ticket(conn, category="api", priority="normal", tags=[], language="en")
    assert routing.team_id == INTEGRATIONS_TEAM

    routing = route_ticket(conn, category="astrology", priority="normal", tags=[], language="en")
    assert routing == RoutingDecision(
        None, None, None, "no rule matched and no team has a skill for category 'astrology'"
    )


def test_assignee_is_most_proficient_then_least_loaded_active_agent(conn):
    skill = conn.execute("INSERT INTO skills (name) VALUES ('astro') RETURNING id").fetchone()["id"]
    expert_busy, expert_free, novice = (make_user(conn, role="agent") for _ in range(3))
    expert_away = make_user(conn, role="agent", status="away")
    customer = make_user(conn)
    team = make_team(conn, members=[expert_busy, expert_free, novice, expert_away, customer])
    for user, proficiency in [(expert_busy, 5), (expert_free, 5), (novice, 2), (expert_away, 5)]:
        conn.execute(
            "INSERT INTO agent_skills (user_id, skill_id, proficiency) VALUES (%s, %s, %s)",
            [user["id"], skill, proficiency],
        )
    conn.execute("INSERT INTO team_skills (team_id, skill_id) VALUES (%s, %s)", [team["id"], skill])
    conn.execute("UPDATE routing_rules SET is_active = false")
    make_ticket(conn, assignee_id=expert_busy["id"], status="open")
    make_ticket(conn, assignee_id=expert_free["id"], status="solved")  # not open: no load

    routing = route_ticket(conn, category="astro", priority="normal", tags=[], language="en")
    assert routing.team_id == team["id"]
    assert routing.assignee_id == expert_free["id"]
    assert "proficiency 5, 0 open tickets" in routing.reason

    conn.execute("UPDATE users SET status = 'offline' WHERE id = %s", [expert_free["id"]])
    routing = route_ticket(conn, category="astro", priority="normal", tags=[], language="en")
    assert routing.assignee_id == expert_busy["id"]


def test_team_without_active_agents_gets_no_assignee(conn):
    away = make_user(conn, role="agent", status="away")
    team = make_team(conn, members=[away])
    conn.execute("UPDATE routing_rules SET is_active = false")
    conn.execute(
        "INSERT INTO routing_rules (name, position, conditions, team_id) "
        "VALUES ('all', 1, '{}', %s)",
        [team["id"]],
    )
    routing = route_ticket(conn, category="billing", priority="normal", tags=[], language="en")
    assert (routing.team_id, routing.assignee_id) == (team["id"], None)
    assert "no active agent" in routing.reason


# --- apply_triage ----------------------------------------------------------------------------


def ticket_row(conn, ticket_id) -> dict:
    return conn.execute("SELECT * FROM tickets WHERE id = %s", [ticket_id]).fetchone()


def test_apply_triage_writes_analysis_and_routing(conn, real_embedder):
    subject, description = BILLING_TICKET
    ticket = make_ticket(conn, subject=subject, description=description)
    result = analyse_ticket(conn, subject=subject, description=description, embedder=real_embedder)
    routing = route_ticket(
        conn, category=result.category, priority=result.priority, tags=[], language=result.language
    )
    apply_triage(conn, ticket_id=ticket["id"], analysis=result, routing=routing)

    row = ticket_row(conn, ticket["id"])
    assert (row["category"], row["language"], row["priority"]) == ("billing", "en", "high")
    assert (row["team_id"], row["assignee_id"]) == (BILLING_TEAM, DANIEL)
    stored = row["ai_analysis"]
    assert stored["suggested_priority"] == "high" and "priority" not in stored
    assert (stored["category"], stored["intent"], stored["model"]) == (
        "billing",
        "refund_request",
        OFFLINE_MODEL,
    )
    assert stored["routing"]["rule_id"] == str(RULE_BILLING)
    assert "category_scores" in stored["signals"]


@pytest.mark.parametrize(
    ("current", "suggested", "expected"),
    [
        ("normal", "urgent", "urgent"),  # the default: raised
        ("normal", "high", "high"),
        ("normal", "low", "normal"),  # never lowered
        ("high", "low", "high"),  # a human set it: kept
        ("high", "urgent", "high"),
        ("low", "urgent", "low"),
        ("urgent", "normal", "urgent"),
    ],
)
def test_priority_is_never_lowered_and_only_raised_from_the_default(
    conn, current, suggested, expected
):
    ticket = make_ticket(conn, priority=current)
    apply_triage(
        conn, ticket_id=ticket["id"], analysis=analysis(priority=suggested), routing=no_routing()
    )
    assert ticket_row(conn, ticket["id"])["priority"] == expected


def test_sla_due_times_follow_the_raised_priority(conn):
    ticket = make_ticket(conn)
    before = ticket_row(conn, ticket["id"])
    assert before["first_response_due_at"] - before["created_at"] == timedelta(hours=8)

    apply_triage(
        conn, ticket_id=ticket["id"], analysis=analysis(priority="urgent"), routing=no_routing()
    )
    after = ticket_row(conn, ticket["id"])
    assert after["priority"] == "urgent"
    assert after["first_response_due_at"] - after["created_at"] == timedelta(minutes=30)
    assert after["resolution_due_at"] - after["created_at"] == timedelta(hours=4)
    assert after["sla_policy_id"] == UUID("66666666-0000-4000-8000-000000000004")


def test_apply_triage_keeps_what_a_human_already_set(conn):
    agent = make_user(conn, role="agent")
    ticket = make_ticket(conn, category="security", team_id=TECH_TEAM, language="fr")
    routing = RoutingDecision(BILLING_TEAM, RULE_BILLING, DANIEL, "test")
    apply_triage(conn, ticket_id=ticket["id"], analysis=analysis(language="de"), routing=routing)

    row = ticket_row(conn, ticket["id"])
    assert (row["category"], row["team_id"]) == ("security", TECH_TEAM)
    # The routed assignee belongs to another team than the one a human chose: not assigned.
    assert row["assignee_id"] is None
    assert row["language"] == "de"  # the language is an observation of the text: always written

    conn.execute("UPDATE tickets SET assignee_id = %s WHERE id = %s", [agent["id"], ticket["id"]])
    routing = RoutingDecision(TECH_TEAM, None, UUID("11111111-0000-4000-8000-000000000004"), "t")
    apply_triage(conn, ticket_id=ticket["id"], analysis=analysis(), routing=routing)
    assert ticket_row(conn, ticket["id"])["assignee_id"] == agent["id"]


def test_apply_triage_to_a_missing_ticket_raises(conn):
    with pytest.raises(TicketNotFound):
        apply_triage(
            conn,
            ticket_id=UUID("00000000-0000-4000-8000-000000000000"),
            analysis=analysis(),
            routing=no_routing(),
        )
