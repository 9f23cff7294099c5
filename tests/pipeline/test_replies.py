"""Replies a customer can use (issue 13): built from whole answer units of the articles, never cut,
opening with the answer; the offline drafter and the LLM drafter's sources alike."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from autocrm.core.settings import Settings
from autocrm.pipeline.answer import prepare_answer
from autocrm.pipeline.chat import build_chat_model
from autocrm.pipeline.decision import Action, HandoffReason
from autocrm.pipeline.drafting import greeting
from autocrm.pipeline.extractive import coverage_of
from autocrm.pipeline.query import Turn
from autocrm.pipeline.units import cut_units, parse_article, units

PROCEDURE = """# Reset your password

Intro sentence. Another one, e.g. this.

## Request a reset link

To reset it:

1. Go to **app.flowdesk.io/login** and click **Forgot password?**
2. Enter the email address you use for Flowdesk.
3. Open the email and click **Reset password**.
4. Choose a new password and sign in.

The reset link is valid for **60 minutes** and can be used once.

## Limits by plan

| Plan | Requests per minute |
|------|---------------------|
| Free | 60 |
| Enterprise | 3,000 (can be raised on request) |
"""


def prepared(
    conn, embedder, question, *, thread=(), settings=None, chat_model=None, kind="auto_reply"
):
    turns = [Turn(speaker, text) for speaker, text in thread] + [Turn("customer", question)]
    return prepare_answer(
        conn,
        subject="",
        description="",
        thread=turns,
        customer_name="Sofia Marques",
        kind=kind,
        embedder=embedder,
        chat_model=chat_model,
        settings=settings or Settings(),
    )


def test_an_article_parses_into_whole_units():
    sections = parse_article(PROCEDURE, "Reset your password")
    assert [s.path for s in sections] == [(), ("Request a reset link",), ("Limits by plan",)]
    intro, steps = sections[0].blocks[0], sections[1].blocks[1]
    assert intro.items == ("Intro sentence.", "Another one, e.g. this.")  # no split at "e.g."
    assert steps.kind == "steps" and len(steps.items) == 4
    table = sections[2].blocks[0]
    assert table.header[0].startswith("| Plan") and table.items[1].endswith("on request) |")
    kinds = [u.kind for u in units(sections)]
    assert kinds.count("steps") == 1 and kinds.count("row") == 2


def test_cut_units_finds_every_kind_of_cut():
    source = [parse_article(PROCEDURE, "Reset your password")]
    whole = (
        "Hi,\n\n**Request a reset link** [1]\n\n1. Go to **app.flowdesk.io/login** and click "
        "**Forgot password?**\n2. Enter the email address you use for Flowdesk.\n3. Open the email "
        "and click **Reset password**.\n4. Choose a new password and sign in.\n\n"
        "| Plan | Requests per minute |\n|---|---|\n| Enterprise | 3,000 (can be raised on request) |"
    )
    assert cut_units(whole, source) == 0
    faq = "## Limits\n\n### The link has expired. Can I get a new one?\nYes. Request another.\n"
    quoted = "Hi,\n\n**The link has expired. Can I get a new one?** [1]\n\nYes. Request another."
    assert cut_units(quoted, [parse_article(faq, "FAQ")]) == 0  # a heading of two sentences
    for broken in (
        "| Plan | Requests per minute |\n|---|---|\n| Enterprise | 3,",  # a row cut mid-cell
        "1. Go to **app.flowdesk.io/login** and click **Forgot password?**\n"
        "2. Open the email and click **Reset password**.",  # a step left out, renumbered
        "The reset link is valid for **60 minutes** and",  # a sentence cut at its end
        "link is valid for **60 minutes** and can be used once.",  # ... and at its start
    ):
        assert cut_units(f"Hi,\n\n{broken}", source) == 1, broken


def test_a_procedure_is_quoted_whole_in_its_own_numbering(kb_conn, real_embedder):
    result = prepared(kb_conn, real_embedder, "How do I reset my password?")
    text = result.draft.text
    assert text.startswith("Hi Sofia,")
    steps = re.findall(r"(?m)^(\d+)\. (.*)$", text)
    assert [n for n, _ in steps] == ["1", "2", "3", "4"]
    assert "Enter the email address you use for Flowdesk." in text  # the step once dropped
    assert result.draft.cited == [1] and result.chunks[0].external_id.endswith("reset-password")
    articles = [a.sections for a in result.sources.articles]
    assert cut_units(text, articles) == 0


def test_a_table_answer_is_the_header_and_the_matching_row_never_a_cut_row(kb_conn, real_embedder):
    result = prepared(kb_conn, real_embedder, "What is the API rate limit on the Enterprise plan?")
    text = result.draft.text
    assert "| Enterprise | 3,000 (can be raised on request) |" in text
    assert "| Plan | Requests per minute |" in text  # the row under its header
    table_rows = [ln for ln in text.splitlines() if ln.startswith("|")]
    assert all(ln.rstrip().endswith("|") for ln in table_rows)
    assert cut_units(text, [a.sections for a in result.sources.articles]) == 0


def test_a_follow_up_answers_the_follow_up_using_the_thread(kb_conn, real_embedder):
    result = prepared(
        kb_conn,
        real_embedder,
        "and on Business?",
        thread=[
            ("customer", "What is the API rate limit on the Team plan?"),
            ("agent", "The Team plan allows 300 requests per minute."),
        ],
        kind="suggestion",
    )
    opening = result.draft.text.split("\n\n")[1]  # the direct answer, right after the greeting
    assert "Business" in opening and "1,000" in opening and "300" not in opening
    assert cut_units(result.draft.text, [a.sections for a in result.sources.articles]) == 0


def test_an_empty_or_meaningless_question_gets_a_clarifying_question_and_no_passages(
    kb_conn, real_embedder
):
    for question in ("", "???", "asdfgh qwerty"):
        result = prepared(kb_conn, real_embedder, question)
        assert result.decision.action == Action.handoff
        assert result.decision.reason == HandoffReason.needs_clarification
        assert result.draft.cited == [] and "[1]" not in result.draft.text
        assert "Could you tell us a little more" in result.draft.text


def test_replies_cite_at_most_the_articles_they_quote(kb_conn, real_embedder):
    result = prepared(kb_conn, real_embedder, "How do I reset my password?")
    quoted = {int(n) for n in re.findall(r"\[(\d)\]", result.draft.text)}
    assert set(result.draft.cited) == quoted and len(quoted) <= 2


def test_blank_or_odd_names_never_break_the_greeting():
    assert greeting(" ") == "Hi," and greeting(None) == "Hi," and greeting("") == "Hi,"
    assert greeting("  Ann-Marie  O'Neil") == "Hi Ann-Marie,"
    assert greeting("<script>x</script>") == "Hi script,"
    assert greeting("42 ###") == "Hi,"


def test_the_llm_gets_whole_sections_a_procedure_and_a_table(kb_conn, real_embedder, llm_server):
    reply = json.dumps(
        {
            "answerable": True,
            "handoff_reason": None,
            "confidence": 0.9,
            "reply": "See [1].",
            "cited": [1],
        }
    )
    llm_server.script(reply, reply)
    settings = llm_server.settings(llm_max_retries=0, llm_timeout_s=5)
    chat = build_chat_model(settings)
    prepared(
        kb_conn, real_embedder, "How do I reset my password?", settings=settings, chat_model=chat
    )
    prepared(
        kb_conn,
        real_embedder,
        "What is the API rate limit on the Enterprise plan?",
        settings=settings,
        chat_model=chat,
    )
    procedure, table = (r.messages[1]["content"] for r in llm_server.requests[-2:])
    # The whole procedure, in its numbering, under "[n] Title › Section" (not chunk fragments).
    assert "[1] Reset your password › Request a reset link" in procedure
    for step in (
        "1. Go to **app.flowdesk.io/login**",
        "2. Enter the email address you use for Flowdesk.",
        "4. Choose a new password and sign in.",
    ):
        assert step in procedure
    # The table with its header and every row, whole.
    assert "| Plan | Requests per minute |" in table
    assert "| Enterprise | 3,000 (can be raised on request) |" in table
    assert "| Free | 60 |" in table


def test_an_articles_own_addresses_stay_in_a_reply_injected_ones_go():
    from autocrm.pipeline.sanitize import article_addresses, sanitize_reply

    keep = article_addresses(["Sign in at my.kettleby.com; mail no-reply@kettleby.com."])
    reply = (
        "1. Sign in at my.kettleby.com.\n2. Mail no-reply@kettleby.com, not evil.example/b, "
        "[here](https://my.kettleby.com/x) or <a href='//evil.example'>x</a>."
    )
    clean = sanitize_reply(reply, keep=keep)
    assert "my.kettleby.com." in clean and "no-reply@kettleby.com" in clean
    assert "evil" not in clean and "https" not in clean and "<a" not in clean
    # an article's own URL keeps its address as text: the sentence does not stop at "visit"
    source = "For more on passports please visit https://travel.state.gov/passports.html today."
    own = sanitize_reply(f"{source} Or https://evil.example/x.", keep=article_addresses([source]))
    assert "please visit travel.state.gov/passports.html today. Or." in own, own


def test_a_confident_reply_is_sent_only_with_reply_level_support():
    from autocrm.core.settings import DecisionSettings
    from autocrm.pipeline.decision import reply_supported

    settings = DecisionSettings()
    assert reply_supported({"agree": 1.0, "unseen_terms": 0.1}, settings)
    assert not reply_supported({"agree": 0.0, "unseen_terms": 0.0}, settings)  # retrievers differ
    assert reply_supported({"agree": 0.0, "answer_kind_steps": 1.0}, settings)  # a whole procedure
    assert not reply_supported({"agree": 1.0, "unseen_terms": 0.5}, settings)  # unknown words
    assert not reply_supported({"agree": 1.0, "answer_rank": 1.0}, settings)  # not the top article
    either = DecisionSettings(send_requires_top_article=False)
    assert reply_supported({"agree": 1.0, "answer_rank": 1.0}, either)
    # an opening unit that holds next to nothing of the question
    assert not reply_supported({"agree": 1.0, "unit_coverage": 0.04}, settings)
    assert reply_supported({"agree": 1.0, "unit_coverage": 0.12}, settings)


def test_a_prose_reply_needs_more_confidence_to_be_sent_than_a_procedure_or_a_row():
    from autocrm.core.settings import DecisionSettings
    from autocrm.pipeline.decision import held_back

    settings = DecisionSettings()
    prose = {"agree": 1.0}
    assert held_back(prose, settings, confidence=0.6) == "prose answer"
    assert held_back(prose, settings, confidence=0.8) is None
    for whole in ({"agree": 1.0, "answer_kind_steps": 1.0}, {"agree": 1.0, "answer_kind_row": 1.0}):
        assert held_back(whole, settings, confidence=0.6) is None


def test_a_message_asking_more_than_two_things_is_drafted_for_an_agent(kb_conn, real_embedder):
    """sa-467 (blind, session 31): three questions, one answered, sent at 0.89. Replies to
    messages asking three or more things were complete 0.61 of the time (one question: 0.81)."""
    eager = Settings().model_copy(deep=True)
    eager.decision.send_threshold = 0.01
    eager.decision.send_threshold_prose = 0.01
    two = "How do I reset my password? How long is the reset link valid?"
    assert prepared(kb_conn, real_embedder, two, settings=eager).decision.action == Action.send
    three = f"{two} And can I use the link twice?"
    held = prepared(kb_conn, real_embedder, three, settings=eager)
    assert held.decision.signals["questions_asked"] == 3
    assert held.decision.action == Action.draft
    assert held.decision.signals["held_back"] == "several questions"
    eager.decision.send_max_questions = 3
    assert prepared(kb_conn, real_embedder, three, settings=eager).decision.action == Action.send


def test_a_prose_reply_below_the_prose_threshold_is_drafted_and_says_why(kb_conn, real_embedder):
    eager = Settings().model_copy(deep=True)
    eager.decision.send_threshold = 0.01
    eager.decision.send_threshold_prose = 0.999
    question = "How are members counted on our bill?"
    held = prepared(kb_conn, real_embedder, question, settings=eager)
    signals = held.decision.signals
    assert not signals["answer_kind_steps"] and not signals["answer_kind_row"], held.draft.text
    assert held.decision.action == Action.draft and signals["held_back"] == "prose answer"
    # a whole procedure at the same confidence is sent; prose at its own threshold is too
    procedure = prepared(kb_conn, real_embedder, "How do I reset my password?", settings=eager)
    assert procedure.decision.action == Action.send
    eager.decision.send_threshold_prose = 0.01
    assert prepared(kb_conn, real_embedder, question, settings=eager).decision.action == Action.send


def test_an_order_number_the_kb_never_saw_keeps_a_confident_reply_a_draft(kb_conn, real_embedder):
    # whatever the confidence: a send threshold that every reply clears leaves only the gate
    eager = Settings().model_copy(deep=True)
    eager.decision.send_threshold = 0.01
    sent = prepared(kb_conn, real_embedder, "How do I reset my password?", settings=eager)
    assert sent.decision.action == Action.send
    held = prepared(
        kb_conn,
        real_embedder,
        "How do I reset my password for workspace zq7x-4411-kkv9 plz?",
        settings=eager,
    )
    assert held.decision.action == Action.draft
    assert held.decision.signals["held_back"] == "reply evidence"
    assert held.decision.signals["unseen_terms"] > eager.decision.send_max_unseen


def test_a_reply_that_says_one_of_two_names_asked_is_drafted(kb_conn, real_embedder):
    """`autocrm ask "what's the API rate limit on Pro and Team?"` on the demo was sent at 0.92
    with Team's row alone: Pro is a plan the help centre no longer sells."""
    eager = Settings().model_copy(deep=True)
    eager.decision.send_threshold = 0.01
    eager.decision.send_threshold_prose = 0.01
    one = prepared(kb_conn, real_embedder, "What's the API rate limit on Team?", settings=eager)
    assert one.decision.action == Action.send, one.draft.text
    assert one.decision.signals["names_left_out"] == 0
    both = "What's the API rate limit on Pro and Team?"
    held = prepared(kb_conn, real_embedder, both, settings=eager)
    assert "300" in held.draft.text and "Pro" not in held.draft.text, held.draft.text
    assert held.decision.signals["names_left_out"] == 1
    assert held.decision.action == Action.draft
    assert held.decision.signals["held_back"] == "a name not answered"


def test_a_follow_up_after_an_answer_is_drafted_for_an_agent_never_auto_sent(
    kb_conn, real_embedder
):
    question = "How do I reset my password?"
    assert prepared(kb_conn, real_embedder, question).decision.action == Action.send
    thread = [("customer", "Hi, I can't sign in."), ("agent", "Sorry to hear that! What happens?")]
    again = prepared(kb_conn, real_embedder, question, thread=thread)
    assert again.decision.action == Action.draft
    assert again.decision.signals["held_back"] == "follow-up"
    # the same reply is still drafted in full for the agent
    assert again.draft.text == prepared(kb_conn, real_embedder, question).draft.text
    # two customer messages with no answer between them are still a first contact
    first = prepared(kb_conn, real_embedder, question, thread=[("customer", "Hello?")])
    assert first.decision.action == Action.send
    allowed = Settings().model_copy(deep=True)
    allowed.decision.send_follow_ups = True
    assert (
        prepared(kb_conn, real_embedder, question, thread=thread, settings=allowed).decision.action
        == Action.send
    )


def test_harmless_markdown_escapes_are_dropped_from_a_reply_meaningful_ones_kept():
    from autocrm.pipeline.extractive import _unescape

    assert _unescape(r"six built\-in algorithms \(ARIMA\)\.") == "six built-in algorithms (ARIMA)."
    assert _unescape(r"a \| b \*not bold\*") == r"a \| b \*not bold\*"  # pipes and emphasis
    assert _unescape("1\\. stays text") == "1\\. stays text"  # not turned into a list item


def test_a_reply_says_each_sentence_of_prose_once():
    """sa-918 (dev, read in session 45): "E4 means the machine's flow meter didn't detect water
    moving through the pump." opened the reply and came again in the section quoted after it."""
    from autocrm.pipeline.extractive import _without_repeats

    parts = [
        "E4 means the flow meter didn't detect water moving through the pump. [1]",
        "**Symptom** [1]",
        "The display shows **E4**.",
        "E4 means the flow meter didn't detect water moving through the pump. Work through the "
        "causes below.",
        "Also, from **Error codes** [2]:",
        "| Code | Means |\n|---|---|\n| E4 | No water flow |",
        "| Code | Means |\n|---|---|\n| E5 | Drawer full |",  # tables stay whole
        "Also, from **Error E4** [3]:",
        "Work through the causes below. [3]",  # all said already: the line above it goes too
    ]
    assert _without_repeats(parts) == [
        "E4 means the flow meter didn't detect water moving through the pump. [1]",
        "**Symptom** [1]",
        "The display shows **E4**.",
        "Work through the causes below.",
        "Also, from **Error codes** [2]:",
        "| Code | Means |\n|---|---|\n| E4 | No water flow |",
        "| Code | Means |\n|---|---|\n| E5 | Drawer full |",
    ]
    # a paragraph said again but for a few words goes, and so does the heading over it
    paid = "Payments are made at the time of booking with a card. Please have exact change."
    assert _without_repeats([f"{paid} [1]", "How do I pay for my ride? [1]", paid]) == [
        f"{paid} [1]"
    ]
    # … a list item is never a heading
    assert _without_repeats([f"{paid} [1]", "- Cash to the driver", paid]) == [
        f"{paid} [1]",
        "- Cash to the driver",
    ]


def test_a_lead_in_is_quotable_only_with_the_list_it_introduces():
    from autocrm.pipeline.articles import SourceArticle
    from autocrm.pipeline.extractive import _dangling

    sections = parse_article(
        "# T\n\n## A\n\nComplete the following steps:\n\n1. One step.\n2. Two steps.\n\n"
        "## B\n\nComplete the following steps to create a policy:\n",
        "T",
    )
    article = SourceArticle(index=1, chunk=None, sections=sections, rank=0)
    lead_ins = [u for u in units(sections) if u.text.endswith(":")]
    assert [_dangling(article, u) for u in lead_ins] == [False, True]


def _offline_answer(markdown: str, title: str, latest: str, previous: str = "", similarity=()):
    """The extractive answer over one made-up article (no database: every term weighs 1)."""
    return _offline_answer_over([(markdown, title)], latest, previous, similarity=similarity)


def _offline_text(markdown: str, title: str, latest: str, previous: str = "") -> str:
    """The offline reply's paragraphs as one text."""
    return "\n\n".join(_offline_answer(markdown, title, latest, previous).parts)


def _offline_answer_over(
    articles: list[tuple[str, str]],
    latest: str,
    previous: str = "",
    answered: str = "",
    similarity=(),
):
    """The extractive answer over made-up articles, in the retriever's order."""

    from autocrm.pipeline.articles import Sources
    from autocrm.pipeline.extractive import Question, answer

    sources = [
        _source(markdown, title, n, similarity) for n, (markdown, title) in enumerate(articles)
    ]
    return answer(Question(latest, previous, answered), Sources(sources, {}, 1.0))


def _source(markdown: str, title: str, rank: int = 0, similarity=()):
    """A made-up article as the drafter receives it, at this place in the retriever's order."""
    from types import SimpleNamespace

    from autocrm.pipeline.articles import SourceArticle

    chunk = SimpleNamespace(title=title, content="")
    return SourceArticle(rank + 1, chunk, parse_article(markdown, title), rank, list(similarity))


CANCEL = """# Cancel your plan

How you cancel depends on where you subscribed.

## On Android (billed by Google Play)

1. Open the Google Play Store app.
2. Tap Payments & subscriptions, then Subscriptions.
3. Tap Cancel subscription.

## On the web (billed by us)

1. Sign in at my.example.com.
2. Go to Billing > Subscription.
3. Click Cancel plan and then Confirm cancellation.
"""


def test_a_procedure_the_question_rules_out_gives_way_to_the_channel_it_names():
    found = _offline_answer(
        CANCEL,
        "Cancel your plan",
        "We pay through your website (not the app store). How do we cancel it?",
    )
    text = "\n\n".join(found.parts)
    assert "Confirm cancellation" in text and "Google Play" not in text


SHIPPING = """# Shipping rates

| Destination | Service | Cost | Free shipping on orders over |
|---|---|---|---|
| UK mainland | Standard | £3.95 | £40 |
| UK mainland | Express | £7.95 | No free express shipping |
| European Union | International | £9.95 | £120 |
| United States and Canada | International | £14.95 | £200 |
"""


def test_a_country_finds_the_row_of_its_region_and_only_that_row():
    for question, row, value in (
        ("What do I need to spend to get free shipping to the US?", "United States", "£200"),
        ("How much is shipping to Germany?", "European Union", "£9.95"),
        # a state names its country, an adjective its region
        (
            "My son is at uni in Ohio. How much is the postage over there?",
            "United States",
            "£14.95",
        ),
        ("How much is postage to a European address?", "European Union", "£9.95"),
    ):
        text = _offline_text(SHIPPING, "Shipping rates", question)
        assert text.split("\n\n")[0].startswith(row) and value in text.split("\n\n")[0]
        table_rows = [ln for ln in text.splitlines() if ln.startswith("| ") and "£" in ln]
        assert len(table_rows) == 1 and row in table_rows[0], text


PLANS = """# Change your plan

You can move between plans whenever you like.

## Upgrading

An upgrade takes effect immediately and we charge the prorated difference.

## Downgrading

A downgrade takes effect at the end of your current billing period.
"""


def test_going_back_down_a_plan_is_asked_in_the_articles_word_downgrade():
    found = _offline_answer(
        PLANS,
        "Change your plan",
        "and if we go back down to Plus later on?",
        "If I upgrade my account to Business, does it start straight away?",
    )
    assert "end of your current billing period" in found.parts[0] + found.parts[1]
    assert "immediately" not in "\n".join(found.parts)
    # and up: "I want to move us up to Business" (sa-457), with whom it moves in between
    from autocrm.pipeline.extractive import _phrased

    assert "upgrade Business" in _phrased("so I want to move us up to Business.")
    # "We're cutting back to Plus" is a downgrade too (sa-674), "cut back on coffee" is not
    assert "downgrade" in _phrased("We're cutting back to Plus. Where do I change it?")
    assert "downgrade" not in _phrased("I'm cutting back on coffee")


def test_a_report_set_apart_from_the_question_after_it_is_asked_too():
    """ "… it sometimes looks a bit wonky. Separately - what's the red thing …?": the report
    before "Separately" is a matter of its own (sa-624); a report the question follows up is
    story ("My tank leaks. What should I do?" asks one thing)."""
    from autocrm.pipeline.extractive import _asked_pieces

    report = "Keep finding a little puddle under the tank."
    assert _asked_pieces(f"{report} Separately - what's the red thing in the drip tray?") == [
        report,
        "Separately - what's the red thing in the drip tray?",
    ]
    assert _asked_pieces(f"{report} What should I do?") == ["What should I do?"]


def test_a_payment_that_cannot_be_taken_is_one_that_fails():
    """ "What happens if you can't take the money before then?" asks what the help centre says
    under "If a payment fails" (sa-666), not about money ("There wasn't enough money …")."""
    from autocrm.pipeline.extractive import _phrased, terms

    phrased = terms(_phrased("What happens if you can't take the money before then?"))
    assert {"payment", "fail"} <= phrased
    assert "money" not in phrased


PRIVACY = """# Privacy requests

Email us to make a request, and we will respond to your request by email.

## What happens next

- **Identity check:** we only act on requests from the address on the account.
- **Our response time:** we reply within one month of receiving your request.
- **Cost:** requests are free.
"""


def test_how_long_is_answered_by_the_unit_that_states_a_time():
    found = _offline_answer(
        PRIVACY, "Privacy requests", "I sent a request. How long do you have to respond?"
    )
    opening = "\n".join(found.parts[:2])
    assert "within one month" in opening and "by email" not in opening


TASTE = """# Coffee tastes bitter or sour

The grind dial goes from 1 to 10.

## Coffee tastes bitter or burnt

### Cause: the grind is too fine
Fine grounds slow the water down.
**Fix:** turn the grind dial one step coarser.

### Cause: the water is too hot
Dark roasts turn bitter at high temperatures.
**Fix:** choose **Medium (92 °C)**.

## Coffee tastes sour

### Cause: the grind is too coarse
**Fix:** turn the grind dial one step finer.
"""


def test_a_problem_gets_its_best_cause_first_then_the_other_causes_of_that_problem():
    found = _offline_answer(
        TASTE, "Coffee tastes bitter or sour", "My coffee tastes burnt. Dark roast."
    )
    text = "\n\n".join(found.parts)
    assert found.parts[0].startswith("**Cause: the water is too hot**")
    assert "one step coarser" in text  # the sibling cause, whole
    assert "one step finer" not in text  # not the causes of another problem


RETURNS = """# Returns policy

## The rules

- You can return most items within **30 days of delivery**, for any reason, as long as you still have the receipt or the order number.
- **Machines** can be returned even after you've used them, as long as they are clean, undamaged and returned with all the accessories that came in the box.
- **Coffee beans, descaler and water filters** can only be returned unopened, for hygiene and food safety reasons.
- **Gift cards** can't be returned, and neither can items bought in a sale.
"""


def test_a_question_that_gives_a_time_also_gets_the_lists_time_limit():
    found = _offline_answer(
        RETURNS, "Returns policy", "Can I return my machine after I used it? Had it two weeks."
    )
    text = "\n".join(found.parts)
    assert "after you've used them" in text and "30 days of delivery" in text
    assert "Gift cards" not in text  # a long list: not all of it


CHANGE = """# Change your plan

This article explains when a change takes effect and what you pay. You can change plans at any time.

## Upgrading

An upgrade from Plus to Business takes effect immediately. We charge the prorated difference for
the rest of your billing month straight away.
"""


def test_an_articles_opening_gives_way_to_the_unit_that_holds_more_of_the_question():
    question = "If I upgrade from Plus to Business mid-month, when does it start and what do I pay?"
    # The opening is the closer to the question as a whole (its section's similarity)...
    found = _offline_answer(CHANGE, "Change your plan", question, similarity=[0.7, 0.4])
    text = "\n".join(found.parts)
    # ... but the upgrade's own section holds more of what is asked: it opens the reply.
    assert found.parts[0].startswith("**Upgrading**") and "takes effect immediately" in text
    assert "You can change plans" not in text  # nor is the opening added below it
    assert "This article explains" not in text  # a signpost is never an answer


PRICES = """# Subscription refunds

You can ask for a refund within 14 days of a charge.

## Price changes

If we change our prices, we'll email you at least 30 days before the new price applies to you.

## Plans

| Feature | Free | Plus |
|---|---|---|
| Price per month | £0 | £3.99 |
"""


def test_a_customers_phrasing_finds_the_articles_words():
    found = _offline_answer(
        PRICES, "Subscription refunds", "Will you warn me before you put the price of Plus up?"
    )
    assert "at least 30 days before" in "\n".join(found.parts)


def test_a_signpost_or_a_pointer_elsewhere_is_never_an_answer_unit():
    from autocrm.pipeline.extractive import _signpost

    sections = parse_article(
        "# T\n\nThis article explains how limits work. For information about the maximum "
        "timeout, see Lambda limits. See the table below. The maximum timeout is 15 minutes. "
        "Seeds of change are everywhere.\n",
        "T",
    )
    kept = [u.text for u in units(sections) if not _signpost(u)]
    assert kept == ["The maximum timeout is 15 minutes.", "Seeds of change are everywhere."]


PROSE = """# Sharing the app

The app works with one machine per account on one phone at a time. It keeps your recipes,
schedules and brew history in your account, so they follow you to a new phone when you sign in.
Notifications go to the phone that last opened the app, and you can turn them off in Settings.

## Household

Family members can share the machine: invite them and they sign in on their own phone. Each of
them gets their own recipes and history, and the owner of the account can remove them at any
time from the same screen. Invitations expire after seven days if nobody accepts them.
"""


def _prose_answer(markdown: str, latest: str, closest: str):
    """``answer`` with a stand-in for the model's cosines: 0.9 for units holding ``closest``."""

    from autocrm.pipeline.articles import Sources
    from autocrm.pipeline.extractive import Question, answer

    seen: list[str] = []

    def similarity(texts):
        seen.extend(texts)
        return [0.9 if closest in t else 0.1 for t in texts]

    article = _source(markdown, "Sharing the app")
    found = answer(Question(latest), Sources([article], {}, 1.0, similarity=similarity))
    return "\n\n".join(found.parts), seen


def test_among_prose_sentences_the_one_closest_in_meaning_answers():
    question = "Can my partner use the app with our machine on their phone?"
    by_words, _ = _prose_answer(PROSE, question, closest="nothing")
    by_meaning, seen = _prose_answer(PROSE, question, closest="Family members")
    assert by_words.startswith("The app works with one machine")
    assert by_meaning.startswith("**Household** [1]\n\nFamily members can share")
    # what the model read: each sentence with its title and heading path
    assert all(t.startswith("Sharing the app") for t in seen) and len(seen) >= 2
    assert any(t.startswith("Sharing the app › Household\nFamily members") for t in seen)


def test_meaning_never_displaces_a_table_row_or_a_procedure():
    markdown = SHIPPING + "\nShipping to the United States usually takes a week.\n"
    text, seen = _prose_answer(
        markdown, "How much is shipping to the United States?", closest="usually takes"
    )
    assert "£14.95" in text and seen == []


def test_unit_vectors_embed_each_text_once_and_stay_bounded():
    import numpy as np

    from autocrm.pipeline.articles import UnitVectors

    calls: list[list[str]] = []

    def embed(texts):
        calls.append(list(texts))
        return np.array([[1.0, 0.0] if "yes" in t else [0.0, 1.0] for t in texts])

    cache = UnitVectors(size=3)
    query = np.array([1.0, 0.0])
    assert cache.cosines(["yes a", "no b", "yes a"], embed=embed, query_vector=query) == [1, 0, 1]
    assert cache.cosines(["no b", "yes c"], embed=embed, query_vector=query) == [0, 1]
    assert calls == [["yes a", "no b"], ["yes c"]]
    cache.cosines(["no d"], embed=embed, query_vector=query)  # over the bound: "yes a" goes
    cache.cosines(["yes a"], embed=embed, query_vector=query)
    assert calls[-1] == ["yes a"]


EXPORT = """# Download a copy of your data

You can download a copy of the personal data linked to your account at any time, for free. The
export includes your account details, saved recipes, brew history and order history.

## Request your export

1. Sign in at my.example.com.
2. Go to Account > Privacy > Download my data.
3. Click Request export.
4. Open the link in the email we send you.
"""


def test_a_how_question_gets_its_articles_only_procedure_though_its_heading_differs():
    question = "I'd like to download my recipes and brew history. How do I do that?"
    text = _offline_text(EXPORT, "Download a copy of your data", question)
    # what the article is about first (the sentence that holds the question), then how
    assert text.index("brew history") < text.index("1. Sign in") < text.index("4. Open the link")
    assert "3. Click Request export." in text


CHANGE_PLAN = """# Change your plan

You can move between Free, Plus and Business, monthly or yearly, whenever you like and pay the
difference. Prices are listed below for every plan, with what each one includes and costs.

## Upgrading

An upgrade from Plus to Business takes effect immediately; the prorated difference is charged.
Your new features are there as soon as you confirm the change in your account settings.
Invoices for the upgrade are sent by email to the account owner on the same day.

## Limits

| Limit | Free | Paid |
|---|---|---|
| Plan moves you can make | 1 | Unlimited |
| Schedules | 1 | 20 |
"""


def test_the_best_articles_sentences_are_ordered_by_meaning_other_units_keep_their_places():

    from autocrm.pipeline.articles import Sources
    from autocrm.pipeline.extractive import Question, score_units

    article = _source(CHANGE_PLAN, "Change your plan")
    question = Question("If I move from Plus to Business mid-month, when does it kick in?")

    def ranked(closest):
        def similarity(texts):
            return [0.9 if closest in t else 0.1 for t in texts]

        return score_units(question, Sources([article], {}, 1.0, similarity=similarity))

    by_words, by_meaning = ranked("nothing"), ranked("takes effect immediately")
    assert by_words[0].unit.text.startswith("You can move between")
    assert by_meaning[0].unit.text.startswith("An upgrade from Plus to Business takes effect")
    # every row and list keeps its place and score; only sentences traded places
    for a, b in zip(by_words, by_meaning, strict=True):
        assert a.score == b.score
        if a.unit.kind != "sentence":
            assert a.unit == b.unit
    assert sorted(s.unit.text for s in by_words) == sorted(s.unit.text for s in by_meaning)


QUOTAS = """# Quotas

| Resource | Default limit |
|---|---|
| Columns in a dataset of one of your dataset groups, per forecast | 13 |
| Dataset groups | 500 |
| Forecasts per predictor | 10 |
"""


def test_the_row_whose_key_the_question_names_most_completely_answers():
    found = _offline_answer(QUOTAS, "Quotas", "What is the limit for dataset groups?")
    text = "\n\n".join(found.parts)
    assert text.startswith("Dataset groups — Default limit: 500.")


def test_a_table_row_of_links_only_is_never_an_answer_unit():
    markdown = """# Built-in task types

| Label images | Label text |
| --- | --- |
| [\\[See the documentation website for more details\\]](https://example.com/a) | [\\[See the documentation website for more details\\]](https://example.com/b) |
| Bounding box | Named entity recognition |
"""
    rows = [
        u.text for u in units(parse_article(markdown, "Built-in task types")) if u.kind == "row"
    ]
    assert rows == ["| Bounding box | Named entity recognition |"]


HARDNESS = """# Water hardness

| Water hardness | Test strip shows | Replace filter every |
|---|---|---|
| Soft | 1 red square | 3 months |
| Medium | 2 red squares | 2 months |
| Hard | 3 red squares | 6 weeks |
| Very hard | 4 red squares | 4 weeks |
"""


def test_a_number_the_question_gives_finds_its_row():
    question = "My test strip went 4 squares red. How often should I swap the filter?"
    text = _offline_text(HARDNESS, "Water hardness", question)
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and "square" in ln]
    assert rows == ["| Very hard | 4 red squares | 4 weeks |"], text


def test_a_cell_the_message_writes_out_names_its_row_and_is_not_restated():
    """ "3 red squares" is the Hard row's, though "1 red square" holds the same words and the Soft
    row a "3 months"; what the customer told (the strip's reading) is never stated back as the
    answer."""
    question = "The test strip showed 3 red squares. How often do I need a new filter?"
    text = _offline_text(HARDNESS, "Water hardness", question)
    assert text.startswith("Hard — Replace filter every: 6 weeks. [1]"), text
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and "square" in ln]
    assert rows == ["| Hard | 3 red squares | 6 weeks |"]
    told = _offline_text(HARDNESS, "Water hardness", "The strip shows 2 red squares. What now?")
    assert "Test strip shows: 2 red squares" not in told
    assert "| Medium | 2 red squares | 2 months |" in told
    # the count told in other words ("2 squares went red"), though "hardness" names the Hard
    # rows' keys: it is the header's word, not a row's
    said = (
        "2 squares went red on the strip. Which hardness level is that, and when's the filter due?"
    )
    text = _offline_text(HARDNESS, "Water hardness", said)
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and "square" in ln]
    assert rows == ["| Medium | 2 red squares | 2 months |"], text


TWO_STEP = """# Two-step verification

Two-step verification adds a code from an authenticator app when you sign in.

## Set it up

1. In the app, go to Settings > Security.
2. Tap Two-step verification and enter your password.
3. Scan the QR code with your authenticator app.

## Turning it off

Go to Settings > Security > Two-step verification and tap Turn off. You'll need to enter a
current code to confirm.
"""

CANCEL_DEVICES = """# Cancel your subscription

## On iPhone or iPad

1. Open the Settings app on your iPhone or iPad.
2. Tap Subscriptions and then Cancel.

## On Android

1. Open the Google Play Store app.
2. Tap Subscriptions and then Cancel.
"""


def test_switching_a_setting_off_is_answered_by_the_instruction_alone():
    # "switch it off" is the article's "turn off"; an instruction needs no procedure after it;
    # naming "iPad" does not bring in another article's iPad procedure
    question = (
        "I turned on two-step verification but it's a pain on the family iPad. "
        "How do I switch it off again?"
    )
    found = _offline_answer_over(
        [(TWO_STEP, "Two-step verification"), (CANCEL_DEVICES, "Cancel your subscription")],
        question,
    )
    text = "\n\n".join(found.parts)
    assert "tap Turn off" in text and "enter a\ncurrent code" in text, text
    assert "Scan the QR code" not in text and "iPad" not in text and found.cited == [1]


SHOP_FAQ = """# Order FAQ

## Which payment methods do you accept in the shop?

Visa, Mastercard, American Express, PayPal and Apple Pay.

## How do I track my order?

When your order is dispatched we email you a tracking link. Tracking can take up to 24 hours to
show the first update after dispatch.
"""

BACKUP_CODES = """# Two-step verification

## Set it up

1. In the Kettleby app, go to **Settings > Account > Security**.
2. Tap **Two-step verification** and enter your password.
3. Scan the QR code with your authenticator app.

## Backup codes

Each backup code works only once. If you've used most of them, create a fresh set under
**Settings > Account > Security > Backup codes**; this cancels the old ones.
"""


@pytest.mark.parametrize(
    ("message", "labels"),
    [
        ("I tap 'Don't Allow' on every pop-up", ("don't allow",)),
        ("I tapped ‘Don’t Allow’ by mistake", ("don't allow",)),
        ('the booklet says "No water flow" - what now?', ("no water flow",)),
        ("is 'coffee' a word you use? I don't know, it's not 'my' thing", ()),  # one word
        ("I can't see it, and it's not the one I'd like", ()),  # apostrophes are no quotes
    ],
)
def test_a_phrase_the_message_quotes_is_read_as_written(message, labels):
    from autocrm.pipeline.extractive import _quoted_labels

    assert _quoted_labels(message) == labels


def test_the_rest_of_an_order_is_no_rest():
    """ "send the rest back" is what is left of it, not "Let them rest a few more days";
    "the rest of the steps" keeps its words."""
    from autocrm.pipeline.extractive import _phrased, terms

    assert "rest" not in terms(_phrased("Can I send the rest back for a refund?"))
    assert "rest" in terms(_phrased("Do I follow the rest of the steps?"))


def test_stock_phrases_are_read_as_meant_not_word_by_word():
    """ "Do you take PayPal?" asks what the shop accepts (not "tracking can take 24 hours"); a
    sentence that says where to do it by a menu path needs no procedure after it (sa-058,
    sa-138: sent replies padded with a section nobody asked about)."""
    text = _offline_text(SHOP_FAQ, "Order FAQ", "Do you take PayPal in the online shop?")
    assert "PayPal and Apple Pay" in text and "Tracking" not in text, text
    said = "I've used up 8 of my 10 backup codes over the last year. How do I get new ones?"
    text = _offline_text(BACKUP_CODES, "Two-step verification", said)
    assert "create a fresh set" in text and "Scan the QR code" not in text, text


FROTHER = """# Clean the steam wand

## Weekly deep clean

1. Switch off the steam and let the wand cool for 10 minutes.
2. Unscrew the frothing tip by turning it anticlockwise.
3. Soak the tip in warm water for 20 minutes.

## Good to know

- The frothing tip is **not** dishwasher safe: the heat deforms the rubber ring inside it.
- The stainless steel milk jug that comes with the Brew can go in the dishwasher.
- Spare frothing tips are available in the Kettleby shop.
"""


def test_a_list_quoted_whole_holds_all_its_items_words_for_what_joins_it():
    """sa-123 (sent): the list that answers both parts was quoted whole for the jug's item, and
    the deep-clean procedure joined for the words of the tip's item, which the reply held."""
    said = "Can the little frothing tip go in the dishwasher along with the milk jug?"
    text = _offline_text(FROTHER, "Clean the steam wand", said)
    assert "not** dishwasher safe" in text and "can go in the dishwasher" in text, text
    assert "Unscrew the frothing tip" not in text, text


def test_a_table_whose_rows_the_question_cannot_tell_apart_is_quoted_whole():
    # "York" is nowhere in the table: no row is the answer by itself, so no row is stated as it
    question = "I'm in York - can you get it to me tomorrow, and what does that cost?"
    text = _offline_text(SHIPPING, "Shipping rates", question)
    assert " — " not in text and "\n| Destination" in text, text
    assert all(row in text for row in ("| Express |", "United States and Canada"))


def test_a_follow_up_on_a_table_keeps_the_row_the_answer_before_it_was_about():
    found = _offline_answer_over(
        [(SHIPPING, "Shipping rates")],
        "ok is there an amount where it's free?",
        previous="How much is normal delivery to Paris? Just a bag of beans.",
        answered="Standard delivery to the European Union costs £9.95.",
    )
    text = "\n\n".join(found.parts)
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and "£" in ln]
    assert rows == ["| European Union | International | £9.95 | £120 |"], text


CHANGES = """# Upgrade, downgrade or switch billing

You can move between Free, Plus and Business, or between monthly and yearly billing, whenever
you like. This article explains when a change takes effect and what you pay.

## Upgrading

An upgrade from Plus to Business takes effect immediately. We charge the prorated difference
for the rest of your current billing period straight away.

## Downgrading

A downgrade takes effect at the end of your current billing period.
"""


def test_an_opening_that_signposts_the_article_is_never_the_answer():
    question = (
        "If I upgrade from Plus to Business in the middle of my billing month, what do I pay?"
    )
    text = "\n\n".join(
        _offline_answer(CHANGES, "Upgrade, downgrade or switch billing", question).parts
    )
    assert "prorated difference" in text and "This article explains" not in text, text


E4 = """# Error E4: no water flow

The display shows E4 and little or no water comes out of the spout.

## Cause 1: Air in the water line

This usually happens after the tank has run dry.

**Fix:**

1. Fill the tank to the MAX line and push it down until it clicks.
2. Hold the Hot water button for 5 seconds to prime the pump.

## Cause 2: Blocked or dry water filter

A brand-new filter that wasn't soaked can block the tank outlet.

**Fix:** Take the filter out of the tank and make a drink without it. Replace it, and remember
to soak the new one first.
"""

NEW_FILTER = """# Replace the water filter

## How to replace the filter

1. Soak the new filter in cold water for 5 minutes.
2. Twist the old filter out and put the new filter in.
3. Refill the tank and run two cups of hot water.
"""


def test_a_problem_report_gets_its_cause_and_fix_not_a_procedure_that_names_its_words():
    # no "how do I": the E4 article's cause answers, not the other article's filter procedure
    found = _offline_answer_over(
        [(E4, "Error E4: no water flow"), (NEW_FILTER, "Replace the water filter")],
        "I put a new filter in yesterday and since then it keeps throwing E4",
    )
    text = "\n\n".join(found.parts)
    assert "Take the filter out of the tank" in text and found.cited == [1], text


def test_paying_in_instalments_is_not_installing_anything():
    from autocrm.pipeline.text import terms

    assert not terms("Can I pay in instalments?") & terms("The Brew installs updates at night.")
    assert terms("instalments") == terms("installment")


S3 = """# Using Amazon S3 with your instance

The sync command can synchronize an entire bucket to a local directory.

Use the following command to download an entire bucket to a local directory on your instance.

```
aws s3 sync s3://remote_bucket local_directory
```

## The API

If you are a developer, you can use an API to access your data.
"""


def test_a_sentence_that_introduces_a_command_comes_with_the_command():
    question = "How to download an entire S3 bucket to my instance?"
    text = _offline_text(S3, "Using Amazon S3 with your instance", question)
    assert "aws s3 sync s3://remote_bucket local_directory" in text, text
    assert text.index("Use the following command") < text.index("aws s3 sync")


LIMITS = """# Quotas

## Datasets

| Resource | Default limit |
|---|---|
| Maximum number of datasets in a dataset group | 3 |
| Maximum number of rows in a dataset | 1 billion |

## Dataset groups

| Resource | Default limit |
|---|---|
| Maximum number of dataset groups | 500 |
"""


def test_the_row_whose_key_the_question_writes_out_answers_though_another_holds_its_words():
    found = _offline_answer(LIMITS, "Quotas", "What is the maximum number of dataset groups?")
    text = "\n\n".join(found.parts)
    assert text.startswith("Maximum number of dataset groups — Default limit: 500."), text


ADMINS = """# Two-step verification

## Business accounts

On the Business plan, an admin can require two-step verification for every staff member.
"""

PLAN_TABLE = """# Plans

| | Free | Plus | Business |
|---|---|---|---|
| Team members with admin access | Not available | Not available | Up to 25 |
| Machines per account | 1 | 3 | 50 |
"""


def test_a_value_asked_is_answered_by_a_row_not_by_a_sentence_that_states_none():
    # the retriever ranks the sentence's article first; it states no number at all
    found = _offline_answer_over(
        [(ADMINS, "Two-step verification"), (PLAN_TABLE, "Plans")],
        "We're moving our café onto the Business plan. How many of our staff can we make admins?",
    )
    text = "\n\n".join(found.parts)
    assert text.startswith("Team members with admin access — Business: Up to 25. [2]"), text


WARRANTY = """# Warranty

Every machine comes with a warranty against faults.

## How long the warranty lasts

- **Home use:** 2 years from the date of delivery.
- **Accessories:** 6 months.

## What's not covered

- Damage caused by limescale
- Accidental damage, such as dropping the machine
"""


def test_a_list_is_quoted_under_its_heading_which_says_what_it_means():
    # "Accidental damage" alone would read as covered: the list comes with its heading
    question = "Is accidental damage, like dropping it, covered?"
    text = _offline_text(WARRANTY, "Warranty", question)
    assert text.index("**What's not covered**") < text.index("- Accidental damage"), text


def test_a_second_article_that_only_repeats_the_first_ones_figure_is_not_added(
    kb_conn, real_embedder
):
    # the pricing page's "API rate limit | … | 300 req/min" would only repeat the rate-limits
    # page's "Team: 300", whose title already says "API rate limits"
    result = prepared(kb_conn, real_embedder, "What is the API rate limit on the Team plan?")
    assert result.draft.cited == [1], result.draft.text
    assert "300" in result.draft.text


def test_a_pointer_to_read_more_elsewhere_is_never_an_answer_unit():
    from autocrm.pipeline.extractive import _signpost
    from autocrm.pipeline.units import Unit

    for pointer in (
        "To learn more about Amazon SNS, see What is Amazon Simple Notification Service.",
        "For more information, see Invoking Lambda functions using Amazon SNS notifications.",
    ):
        assert _signpost(Unit("sentence", pointer, 0, 0))
    assert not _signpost(Unit("sentence", "To learn how it works, open the console.", 0, 0))


def test_of_rows_whose_keys_the_question_names_alike_the_one_its_other_cells_hold_answers():
    question = "Our water is hard (3 red squares). How often should we replace the filter?"
    text = _offline_text(HARDNESS, "Water hardness", question)
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and "square" in ln]
    assert rows == ["| Hard | 3 red squares | 6 weeks |"], text


INTERVALS = """# Descaling intervals

| Water hardness | Descale every (filter fitted) | Descale every (no filter) |
|---|---|---|
| Soft | 3,000 cups | 1,500 cups |
| Hard | 1,200 cups | 600 cups |
"""

FILTER = """# The water filter

## Can I stop using the filter?

You can stop the filter reminders in the app.
"""


def test_a_message_after_an_answer_leans_to_the_article_that_answer_came_from():

    from autocrm.pipeline.articles import Sources
    from autocrm.pipeline.extractive import Question, score_units

    articles = [
        _source(md, t, n)
        for n, (md, t) in enumerate([(FILTER, "The water filter"), (INTERVALS, "Descaling")])
    ]
    answered = "With soft water and a filter fitted, you need to descale every 3,000 cups."

    def row_score(latest: str, answer: str) -> float:
        scored = score_units(Question(latest, "When do we descale?", answer), Sources(articles))
        return next(s.score for s in scored if s.unit.text.startswith("| Soft"))

    short = "and if we stop using the filter?"
    assert row_score(short, answered) > row_score(short, "")
    # a longer message goes on from the answer too (session 31: "Done, it's disappeared off my
    # app. What will she need to do at her place?" after the reset steps is about the reset)
    long = "We are also wondering whether we could stop using the filter and what happens then?"
    assert row_score(long, answered) > row_score(long, "")
    # an answer taken from no article of the sources leans to none
    elsewhere = "Our office is open from 9 to 5, Monday to Friday."
    assert row_score(long, elsewhere) == row_score(long, "")


def test_a_message_that_opens_as_a_follow_up_is_one_however_long():
    from autocrm.pipeline.extractive import Question

    previous = "How do I connect my Brew to Wi-Fi with my iPhone?"
    long = "what about on Android? my husband has a Samsung and wants to set it up from his phone"
    assert Question(long, previous).follow_up and Question(long, previous).wants_steps
    phone = "my husband has a Samsung and wants to set it up from his phone"
    for opening in ("Thanks! And on Android?", "Same for Android?", "What if it's an Android?"):
        assert Question(f"{opening} {phone}", previous).follow_up, opening
    other = "My husband has a Samsung phone and he would like to know whether the app supports it"
    assert not Question(other, previous).follow_up
    assert not Question(long).follow_up  # nothing before it to follow


RETURNS_POINTER = """# Returns policy

## Faulty items

A faulty machine is covered by its warranty; see *Machine warranty*.
"""

MACHINE_WARRANTY = """# Machine warranty

## What's covered

Faults caused by manufacturing defects, such as a pump that stops working, are covered for 2 years.
"""


def test_a_sentence_pointing_to_another_source_article_gives_way_to_that_article():
    found = _offline_answer_over(
        [(RETURNS_POINTER, "Returns policy"), (MACHINE_WARRANTY, "Machine warranty")],
        "My machine stopped working. Is a faulty machine covered by the warranty?",
    )
    text = "\n\n".join(found.parts)
    assert found.cited == [2] and "manufacturing defects" in text, text


RESET = """# Reset your password

## Forgot your password

1. On the sign-in screen, tap Forgot password?
2. Enter your email address and tap Send link.
3. Tap Reset password in the email.

## Didn't get the email?

- Check your spam or junk folder for an email from no-reply@example.com.
- You can ask for a new link after 5 minutes.

## Change your password while signed in

1. Go to Settings > Account > Password.
2. Type your new password twice and tap Save.
"""


def test_a_report_after_an_answer_gets_what_fits_it_not_a_procedure_because_it_is_one():
    found = _offline_answer_over(
        [(RESET, "Reset your password")],
        "ok did that 20 mins ago and the email has not arrived",
        previous="I've forgotten my password",
        answered="Tap Forgot password?, enter your email address and tap Send link.",
    )
    text = "\n\n".join(found.parts)
    assert "spam or junk folder" in text and "Settings > Account" not in text, text


RETURN_STEPS = """# Returns policy

## The rules

- You can return most items within 30 days of delivery.
- Descaler can only be returned unopened.

## How to start a return

1. Sign in and open Orders.
2. Select the order and click Return items.
3. Choose the items you're sending back.
"""


def test_how_does_that_work_asks_for_the_procedure():
    from autocrm.pipeline.extractive import Question

    latest = "I want to send some unopened descaler back. how does that work?"
    assert Question(latest).asks_how and Question("what's the process for a return?").asks_how
    assert Question("Every coffee tastes sour. What should I change?").wants_steps
    text = _offline_text(RETURN_STEPS, "Returns policy", latest)
    assert "1. Sign in and open Orders." in text and "3. Choose the items" in text, text


PRIVACY_NEXT = """# Privacy requests

## What happens next

- **Identity check:** we only act on requests that come from the email address on the account.
  If you write from a different address, we'll send a confirmation link to the account first.
- **Our response time:** we reply within one month of receiving your request. If a request is
  complex, we may extend this by up to two further months, and we will tell you so in good time.
- **Cost:** requests are free. We may charge a reasonable fee only if a request is clearly
  unfounded or excessive, such as repeated requests for the same data.
"""


def test_each_question_of_a_message_gets_its_answer_even_from_the_same_long_list():
    one = "I want to make an access request. Can I send it from my work email address?"
    both = f"{one} Also is there a fee?"
    text = _offline_text(PRIVACY_NEXT, "Privacy requests", both)
    assert "Identity check" in text and "requests are free" in text, text
    assert "response time" not in text, text  # the long list is not quoted whole
    alone = _offline_text(PRIVACY_NEXT, "Privacy requests", one)
    assert "requests are free" not in alone, alone


SEND_ELSEWHERE = """# Download a copy of your data

## Request your export

1. Go to Account > Privacy > Download my data.
2. Click Request export and download the ZIP file from our email.

## Want us to send your data somewhere else?

If you'd like us to send your data directly to another company, make a privacy request.
See *Your privacy rights*.
"""

RIGHTS = """# Your privacy rights

## Your rights

- **Access:** get a copy of the personal data we hold about you.
- **Portability:** have us send your data to another company.

## How to make a privacy request

Email privacy@example.com from the email address on your account.
"""


def test_an_answer_that_points_to_another_source_brings_the_section_it_names():
    question = "I'd like you to send my data straight to another company. How do I ask for that?"
    found = _offline_answer_over(
        [(SEND_ELSEWHERE, "Download a copy"), (RIGHTS, "Your privacy rights")], question
    )
    text = "\n\n".join(found.parts)
    assert "send your data directly" in text and "privacy@example.com" in text, text
    assert found.cited == [1, 2], text


def test_what_the_customer_would_rather_not_do_is_ruled_out():
    from autocrm.pipeline.extractive import _negated

    assert _negated("send it to them rather than me downloading a zip") == {"download", "zip"}
    assert _negated("instead of the app") == {"app"}
    question = (
        "I'd like you to send my data straight to another company rather than me downloading a"
        " zip. How do I ask for that?"
    )
    found = _offline_answer_over(
        [(SEND_ELSEWHERE, "Download a copy"), (RIGHTS, "Your privacy rights")], question
    )
    text = "\n\n".join(found.parts)
    assert "Request export" not in text and "privacy@example.com" in text, text


SPECS = """# Technical specifications

## Specifications

| Specification | Brew |
|---|---|
| Water tank capacity | 1.8 litres |
| Dimensions (W x D x H) | 24 x 43 x 36 cm |
| Weight | 8.2 kg |
"""


def test_how_heavy_asks_for_the_weight_in_retrieval_and_in_the_reply():
    from autocrm.pipeline.query import build_query

    thread = [Turn("customer", "How heavy is the Brew? It's going up two flights of stairs")]
    query = build_query(subject="", description="", thread=thread)
    assert query.endswith("weight"), query
    plain_question = [Turn("customer", "How do I descale it?")]
    assert build_query(subject="", description="", thread=plain_question) == "How do I descale it?"
    text = "\n".join(_offline_answer(SPECS, "Specifications", thread[0].text).parts)
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and "Specification" not in ln]
    assert rows == ["| Weight | 8.2 kg |"], text
    big = "\n".join(_offline_answer(SPECS, "Specifications", "how big is it?").parts)
    assert "24 x 43 x 36 cm" in big and "8.2 kg" not in big, big
    hold = "\n".join(_offline_answer(SPECS, "Specifications", "how much water does it hold").parts)
    assert "1.8 litres" in hold and "8.2 kg" not in hold, hold
    fits = "Will the Brew fit under my cupboards? There's 40 cm of room."
    assert "24 x 43 x 36 cm" in "\n".join(_offline_answer(SPECS, "Specifications", fits).parts)
    # two rows asked in one sentence: both, in the table's order
    both = "how heavy is it, and how much water does the tank hold?"
    text = "\n".join(_offline_answer(SPECS, "Specifications", both).parts)
    assert "| Water tank capacity | 1.8 litres |\n| Weight | 8.2 kg |" in text, text
    assert "24 x 43 x 36 cm" not in text, text


CODES = """# Error codes

| Code | What it means | What to do |
|---|---|---|
| E4 | No water flow | Follow the steps in *Error E4: no water flow* |
| E5 | Tank missing | Push the tank down until it clicks. |
"""

E4_CAUSES = """# Error E4: no water flow

## Cause 1: Air in the water line

**Fix:** Fill the tank and hold the Hot water button for 5 seconds.

## Cause 3: Limescale in the pipes

**Fix:** Run a full descaling cycle. If E4 appears during the descaling cycle itself, let the
machine rest for 15 minutes with the descaler solution inside, then resume.
"""


def test_a_row_that_points_to_another_article_brings_its_part_that_fits_the_question():
    question = "What does E4 mean? It came up halfway through the descaling cycle."
    found = _offline_answer_over(
        [(CODES, "Error codes"), (E4_CAUSES, "Error E4: no water flow")], question
    )
    text = "\n\n".join(found.parts)
    assert "| E4 | No water flow |" in text and "rest for 15 minutes" in text, text
    assert "Hot water button" not in text and found.cited == [1, 2], text


LEAKS = """# Water under or around the machine

## Water in front of the machine

### Cause: the drip tray is full
If the tray overflows, water runs out along the front.
**Fix:** pull the drip tray out, empty it and push it back until the float sits flat.

## Water under the water tank

### Cause: the tank isn't seated properly
If the tank sits at an angle, water can escape around its valve.
**Fix:** lift the tank off and push it straight down until it clicks.

### Cause: the seal is damaged
Check the small rubber ring around the valve on the underside of the tank.
"""


def test_a_place_the_customer_rules_out_rules_out_the_section_it_heads_and_ideas_get_causes():
    from autocrm.pipeline.extractive import Question, _negated

    assert _negated("a puddle under the tank, not at the front") == {"front"}
    question = "There's a puddle under where the water tank sits, not at the front. Tray's empty. Any ideas?"
    assert Question(question).wants_steps
    text = _offline_text(LEAKS, "Water under or around the machine", question)
    assert text.startswith("**Cause: the tank isn't seated properly**"), text
    assert "small rubber ring" in text and "drip tray" not in text, text


PERMISSIONS = """# The app can't find my machine

## Cause: a permission is turned off

**Fix on iPhone:** open Settings > Privacy & Security > Local Network and turn on Kettleby.

**Fix on Android:** open Settings > Apps > Kettleby > Permissions and allow Nearby devices.
"""


def test_a_phone_named_by_its_maker_finds_the_steps_for_its_platform():

    from autocrm.pipeline.articles import Sources
    from autocrm.pipeline.extractive import Question, score_units

    title = "The app can't find my machine"
    iphone, android = PERMISSIONS.split("\n\n")[2:4]
    head = PERMISSIONS.split("\n\n")[:2]

    def best(question: str, *fixes: str) -> str:
        markdown = "\n\n".join([*head, *fixes])
        article = _source(markdown, title)
        return score_units(Question(question), Sources([article]))[0].unit.text

    # the question's words fit both fixes alike: only the phone's platform tells them apart
    assert best("How do I fix it on my Pixel?", iphone, android).startswith("**Fix on Android:**")
    assert best("How do I fix it on my Galaxy?", iphone, android).startswith("**Fix on Android:**")
    assert best("How do I fix it on my iPad?", android, iphone).startswith("**Fix on iPhone:**")


PLAIN_TEXT = """Growing children should get at least one hour of physical activity a day. Running, biking, or
hiking are all great ways for children to get exercise.

Simple exercise for kids

Jumping jacks, push-ups and sit-ups can be done indoors in a few minutes, with no equipment at all,
and children enjoy counting them out loud together with a parent or an older sibling who joins in.
Stretching before and after helps too, and a short walk after dinner is an easy habit to build.
Dancing to music in the living room counts as exercise as well, and so does a game of tag outside.
On rainy days an obstacle course of cushions and chairs keeps them moving for an hour or more, and
a skipping rope or a hula hoop takes up almost no space in a flat. Older children can follow a
short workout video, and many schools share lists of games that need only a ball and a wall. Keep
water nearby, make it fun rather than a chore, and praise effort more than results.
"""


def test_a_plain_text_heading_whose_text_is_left_out_never_ends_a_reply():
    from autocrm.pipeline.extractive import _title_line

    assert _title_line("Simple exercise for kids") and _title_line("Scams\nSearch\nItems per page")
    assert _title_line("**Topics**") and not _title_line("**Fix:** unplug it.")
    assert not _title_line("Never let children swim unattended.") and not _title_line("- a list")
    found = _offline_answer(PLAIN_TEXT, "Physical activity", "How much activity do children need?")
    text = "\n\n".join(found.parts)
    assert "one hour of physical activity" in text and not text.rstrip().endswith("for kids"), text


PASSAGE = """Small Claims Court Process

Home > Small Claims > Court Process

In small claims court, disputes are settled in a fair, quick and inexpensive manner. The court
hears claims of up to 12,500 dollars brought by an individual.

Parking near the courthouse is limited on weekdays, so arrive early. The cafeteria on the ground
floor opens at eight. Court staff cannot give legal advice, but a free small claims advisor can
help you prepare your claim before the hearing. Interpreters are available in many languages.

You may ask a lawyer for advice before you go to court; however, you may not have a lawyer
represent you in small claims court.
"""


def test_a_plain_prose_passage_is_answered_by_its_best_sentences_in_its_order():
    question = "Can a lawyer represent me in small claims court? How much can I claim?"
    found = _offline_answer(PASSAGE, "Small Claims Court Process", question)
    text = "\n\n".join(found.parts)
    # the direct answer first, then the passage's other answering sentences in their order
    assert text.startswith("You may ask a lawyer for advice"), text
    assert "up to 12,500 dollars" in text and "Home > Small Claims" not in text, text
    assert "cafeteria" not in text and "Parking" not in text, text  # not the whole passage


WIFI = """# Connect your Brew to Wi-Fi

## On iPhone

1. Hold the Power button for 3 seconds.
2. Open the app and tap Add machine.
3. Choose your network and enter its password.

## Changing to a new Wi-Fi network

If you change your router or your Wi-Fi password, the machine can't reconnect on its own. Remove it
from the app (swipe left on the machine) and then add it again using the steps above.
"""


def test_the_case_an_article_sends_to_its_procedure_comes_before_the_procedure():
    question = (
        "We got a new router and the machine is offline. How do I connect it again on my iPhone?"
    )
    text = _offline_text(WIFI, "Connect your Brew to Wi-Fi", question)
    assert text.index("swipe left on the machine") < text.index("1. Hold the Power button"), text
    plain_setup = "How do I connect the machine on my iPhone?"
    alone = _offline_text(WIFI, "Connect your Brew to Wi-Fi", plain_setup)
    assert "swipe left" not in alone and "1. Hold the Power button" in alone, alone


DESCALE_KIT = """# How to descale

## What you need

- One sachet of descaler (each box holds 3 sachets)
- A container that holds at least 1.5 litres
"""


def test_a_shelf_life_question_weighs_what_the_kb_never_states():

    from autocrm.pipeline.articles import Sources
    from autocrm.pipeline.extractive import Question, answer, terms

    article = _source(DESCALE_KIT, "How to descale")
    known = Sources(
        [article], {t: 1.0 for t in terms(DESCALE_KIT) | terms("descaler go box years ago")}, 5.0
    )

    def unseen(question: str) -> float:
        return answer(Question(question), known).evidence["unseen_terms"]

    # the words are all known, but what is asked (does it expire?) is not: the send gate sees it
    assert unseen("Does the descaler go off? Is a box from 3 years ago still ok?") > 0.2
    assert unseen("What do I need to descale? Is one box ok?") == 0


BILLING = """# Switch billing

## Switching from monthly to yearly

Switching to yearly billing takes effect at your next billing date.

## Switching from yearly to monthly

This takes effect when your current year ends.
"""


def test_a_from_to_heading_answers_the_question_that_names_them_in_that_order():
    to_monthly = "We pay yearly but I'd rather pay monthly. Does the switch take effect now?"
    to_yearly = "We pay monthly but yearly is cheaper. When does the switch take effect?"
    first = _offline_answer(BILLING, "Switch billing", to_monthly).parts
    assert "current year ends" in first[1] and "next billing date" not in " ".join(first), first
    other = _offline_answer(BILLING, "Switch billing", to_yearly).parts
    assert "next billing date" in other[1] and "current year ends" not in " ".join(other), other


E4_EVERY_CAUSE = """# Error E4: no water flow

## Cause 1: Air in the water line

**Fix:** Fill the tank and hold the Hot water button for 5 seconds to prime the pump.

## Cause 2: Blocked water filter

**Fix:** Take the filter out of the tank and make a drink without it.

## Cause 4: Dirty tank valve

The small valve in the base of the tank can stick if coffee residue gets on it.

**Fix:** Press the valve a few times under running water.
"""


def test_what_the_customer_has_already_tried_is_not_what_else_to_try():
    from autocrm.pipeline.extractive import Question

    question = (
        "Getting E4. I've done the priming thing with the hot water button, tried it with the "
        "filter out. Still E4. Anything else to try?"
    )
    assert len(Question(question).tried) == 2
    text = _offline_text(E4_EVERY_CAUSE, "Error E4", question)
    assert text.startswith("**Cause 4: Dirty tank valve**") and "Press the valve" in text, text
    assert "Hot water button" not in text and "filter out" not in text, text
    # what a question asks is never what was tried; "anything else I need to know" asks for more
    assert Question("Can I still return it if I've already used it?").tried == ()
    assert Question("I've stopped using filters. Anything else I need to know?").tried == ()
    # the story ("I ordered …") is not an attempt at a fix
    assert Question("I ordered a Brew and it arrived damaged. Any ideas?").tried == ()


def test_what_do_i_have_to_do_asks_how_and_watts_ask_for_the_power():
    from autocrm.pipeline.extractive import Question
    from autocrm.pipeline.query import build_query

    assert Question("I've got a new filter here. What do I actually have to do?").asks_how
    assert not Question("What does the orange drop mean?").asks_how
    thread = [Turn("customer", "How many watts does it pull?")]
    assert build_query(subject="", description="", thread=thread).endswith("power")


WARRANTY_SECTIONS = """# Kettleby Brew warranty

## How long the warranty lasts

- **Home use:** 2 years from the date of delivery.
- **Accessories** such as the milk jug: 6 months.

The warranty applies to machines bought new from kettleby.com or an authorised retailer.

## What's covered

Faults caused by manufacturing defects, such as a pump that stops working.

## What's not covered

- Damage caused by limescale because the machine wasn't descaled when it asked you to
- Accidental damage, such as dropping the machine

## Repairs after the warranty

We still repair machines after the warranty ends, for a fixed fee.
"""


def test_is_it_covered_shows_both_what_is_covered_and_what_is_not():
    question = "My machine stopped working. I ignored the descale warnings. Is it covered?"
    text = _offline_text(WARRANTY_SECTIONS, "Kettleby Brew warranty", question)
    covered, excluded = text.find("**What's covered**"), text.find("**What's not covered**")
    assert 0 <= covered < excluded and "Damage caused by limescale" in text, text
    # asked after a dash, as a yes/no question too
    told = "Ignored the descale warnings for months - is the damage covered?"
    text = _offline_text(WARRANTY_SECTIONS, "Kettleby Brew warranty", told)
    assert "Damage caused by limescale" in text and "**What's covered**" in text, text
    # "a free replacement" asks whether it is covered
    free = "I dropped my machine and cracked it, it's 3 months old. Can I get a free repair?"
    text = _offline_text(WARRANTY_SECTIONS, "Kettleby Brew warranty", free)
    assert "Accidental damage" in text and "**What's covered**" in text, text
    sort = "It's a year old and the screen went blank - will you still sort it under warranty?"
    text = _offline_text(WARRANTY_SECTIONS, "Kettleby Brew warranty", sort)
    assert "**What's covered**" in text and "**What's not covered**" in text, text
    from autocrm.pipeline.extractive import _phrased

    assert "covered" not in _phrased("How do I get it fixed under the warranty?")
    # a question that does not ask what is covered gets neither list
    asked = "Do you repair machines after the warranty ends?"
    other = _offline_text(WARRANTY_SECTIONS, "Kettleby Brew warranty", asked)
    assert "fixed fee" in other and "What's not covered" not in other, other


def test_how_long_ago_with_is_it_still_covered_weighs_the_time_limit_and_its_note():
    from autocrm.pipeline.extractive import Question, _still_within

    question = (
        "My Brew was delivered about 18 months ago. I got it from a shop in town, not from you. "
        "Is it still under warranty?"
    )
    assert _still_within(Question(question))
    assert not _still_within(
        Question("Beans roasted 3 weeks ago taste sour. What should I change?")
    )
    text = _offline_text(WARRANTY_SECTIONS, "Kettleby Brew warranty", question)
    assert "2 years from the date of delivery" in text and "6 months" in text, text
    # a short list is quoted with the note under it, as a procedure is (who the warranty covers)
    asked = "How long is the milk jug covered for?"
    text = _offline_text(WARRANTY_SECTIONS, "Kettleby Brew warranty", asked)
    note = "6 months.\n\nThe warranty applies to machines bought new from kettleby.com or an"
    assert note in text, text


PLAN_PRICES = """# App plans

## Compare the plans

| Feature | Free | Plus | Business |
|---|---|---|---|
| Price per month | £0 | £3.99 | £12.99 per machine |
| Price per year | Not applicable | £39.99 | £129.99 per machine |
| Brew history | 30 days | 1 year | 3 years |
| Brew schedules | 2 | 10 | Unlimited |
"""


def test_a_comparison_quotes_the_rows_it_compares():
    question = "how much is Plus? and is it any cheaper if I pay for the whole year up front"
    text = _offline_text(PLAN_PRICES, "App plans", question)
    assert text.startswith("Price per month — Plus: £3.99. Price per year — Plus: £39.99."), text
    assert "Brew history" not in text, text
    # without a comparison, the row asked about alone
    alone = "\n\n".join(
        _offline_answer(PLAN_PRICES, "App plans", "how much is Plus per year?").parts
    )
    assert "£39.99" in alone and "£3.99 " not in alone and "Price per month" not in alone, alone


DELETE_ACCOUNT = """# Delete your account

You can delete your account at any time.

## Before you delete

- **Cancel any paid subscription first.** Deleting your account doesn't stop payments made
  through the App Store or Google Play.
- **Download your data** if you want to keep your recipes.

## How to delete your account

1. In the app, go to **Settings > Account > Delete account**.
2. Enter your password and tap **Delete my account**.

## Changed your mind?

Sign in again within 14 days and tap **Keep my account**.
"""


def test_a_procedure_comes_with_what_to_do_before_it():
    question = "How do I delete my account?"
    text = _offline_text(DELETE_ACCOUNT, "Delete your account", question)
    before, steps = text.find("**Before you delete**"), text.find("1. In the app")
    assert 0 <= before < steps and "Cancel any paid subscription first" in text, text
    # a question that is not answered by the procedure gets no prerequisites
    asked = "I changed my mind, can I keep my account?"
    other = _offline_text(DELETE_ACCOUNT, "Delete your account", asked)
    assert "Keep my account" in other and "Before you delete" not in other, other


def test_a_trailing_how_after_a_question_asks_how_and_set_times_mean_a_schedule():
    from autocrm.pipeline.extractive import Question, _phrased

    assert Question(
        "can i set the machine to make a flat white at 6.45 every weekday? how"
    ).asks_how
    # after a story, "How?" may ask for any fix, not for a procedure
    assert not Question("I don't want to set them all up again when we're back. How?").asks_how
    assert "schedule" in _phrased("a flat white at 6.45 every weekday")
    assert "schedule" in _phrased("coffee ready at 7am")
    assert "schedule" not in _phrased("is there a dark mode, the white screen at 6am is brutal")
    assert "schedule" not in _phrased("I make a flat white most days")


def test_money_back_is_a_refund_and_stats_are_usage_reports():
    from autocrm.pipeline.extractive import _phrased, terms

    assert "refund" in terms(_phrased("Do we get money back for the rest of the year?"))
    # sa-464: "do we get anything back for the rest of the month on those two?"
    assert "refund" in terms(_phrased("Do we get anything back for the rest of the month?"))
    assert "refund" not in terms(_phrased("I never got anything back from support"))
    assert "refund" not in terms(_phrased("We moved back to the old plan and saved money"))
    assert terms("usage reports") <= terms(_phrased("Any kind of stats on how much we drink?"))
    # a word the articles write themselves is left alone: "statistics" is not a usage report
    assert "report" not in terms(_phrased("Do you make statistics from my machine's data?"))


def test_where_do_i_change_it_asks_how_and_closing_an_account_deletes_it():
    from autocrm.pipeline.extractive import Question, _phrased, terms

    assert Question("Can I keep both cards? And where do I actually change it?").asks_how
    assert Question("Where is the download-my-data option in the app??").asks_how
    # "where do I do that?" after naming the change: the sentence that says where may answer
    assert not Question("I need to move the weekday schedule. Where do I do that?").asks_how
    assert terms("delete account") <= terms(_phrased("I want to close my Kettleby account"))
    assert "delet" not in " ".join(terms(_phrased("I want to close the app")))


ALLOWANCES = """# Kettleby app plans

| Feature | Free | Plus | Business |
|---|---|---|---|
| Price per month | £0 | £3.99 | £12.99 |
| Machines per account | 1 | 3 | 50 |
| Recipes saved | 20 | 500 | Unlimited |
| Brew schedules | 2 | 10 | Unlimited |
"""

KEPT_FOR = """# How long we keep your data

| Type of data | How long we keep it |
|---|---|
| Recipes and schedules | Until you delete them |
| Support conversations | 3 years after the conversation is closed |
| Orders and invoices | 7 years after the end of the financial year |
"""


def test_two_things_asked_in_one_question_get_a_row_each_in_the_order_asked():
    asked = "We have two machines. How many machines and how many schedules does Plus let you have?"
    text = _offline_text(ALLOWANCES, "Kettleby app plans", asked)
    assert text.startswith("Machines per account — Plus: 3. Brew schedules — Plus: 10."), text
    assert "Recipes saved" not in text and "Price per month" not in text, text
    listed = "How long do you keep (a) my old chats with your support team and (b) my invoices?"
    text = _offline_text(KEPT_FOR, "How long we keep your data", listed)
    support, orders = text.find("Support conversations —"), text.find("Orders and invoices —")
    assert 0 <= support < orders and "Recipes and schedules" not in text, text
    # questions listed after a colon, each its own clause: "three things: what …, how long …"
    colon = (
        "Before I close my account I'd like to know two things: what happens to my saved "
        "recipes, and how long you'll hang on to my invoices from the shop."
    )
    text = _offline_text(KEPT_FOR, "How long we keep your data", colon)
    recipes, orders = text.find("Recipes and schedules —"), text.find("Orders and invoices —")
    assert 0 <= recipes < orders and "Support conversations" not in text, text


APP_FAQ = """# Kettleby app FAQ

## Which phones does the app work on?

The Kettleby app works on iPhone and iPad with iOS 16 or later, and on Android 10 or later.

## Does the app have dark mode?

Yes. The app follows your phone's light or dark setting automatically.

## Can I share a machine?

Yes. Tap the machine, then Share > Invite, and enter the other person's email address.
"""


def test_a_second_question_without_a_question_mark_is_still_answered():
    from autocrm.pipeline.extractive import Question

    message = "Does the app work on an iPhone with iOS 16? and is there a dark mode, it's so bright"
    text = _offline_text(APP_FAQ, "Kettleby app FAQ", message)
    assert "iOS 16 or later" in text and "light or dark setting" in text, text
    assert "Share > Invite" not in text, text
    # a question after a dash, or after "also", asks too; a story sentence does not
    dashed = Question("I'm dairy free - will oat milk foam up? also, can I use it cold")
    assert len(dashed.asked_pieces()) == 2
    assert Question("We were away - was a mess. How do I descale?").asked_pieces() == []


def test_a_question_no_unit_answers_by_its_words_gets_the_unit_closest_in_meaning():
    from autocrm.pipeline.articles import Sources
    from autocrm.pipeline.extractive import Question, answer

    asked: list[str] = []

    def similarity_to(texts, to):
        asked.append(to)
        return [0.8 if "iOS 16" in t and "run on it" in to else 0.2 for t in texts]

    message = "My iPhone is stuck on an old version. Will it run on it? And is there a dark mode?"
    article = _source(APP_FAQ, "Kettleby app FAQ")
    without = answer(Question(message), Sources([article], {}, 1.0))
    found = answer(Question(message), Sources([article], {}, 1.0, similarity_to=similarity_to))
    text = "\n\n".join(found.parts)
    assert "light or dark setting" in text and "iOS 16 or later" in text, text
    assert "iOS 16 or later" not in "\n\n".join(without.parts)
    # the question the reply's words leave unanswered was put to the model first, with the
    # sentence that says what "it" is (then each question alone, to find its own answer)
    assert asked[0] == "My iPhone is stuck on an old version. Will it run on it?"
    assert text.index("light or dark") < text.index("iOS 16"), text


RESET_ERASES = """# Factory reset

## What a reset erases

- The saved Wi-Fi network and password
- Brew schedules stored on the machine
- Custom drink sizes and the machine's name

A reset does **not** erase the recipes in your account, and it doesn't reset the descaling counter.

## Reset from the app

1. Tap your machine and go to Settings > Machine > Factory reset.
2. Tap Reset machine.
"""


def test_the_note_under_a_short_list_comes_with_its_list():
    asked = "Before I press it - what exactly does it wipe? Will it reset the descaling counter?"
    text = _offline_text(RESET_ERASES, "Factory reset", asked)
    assert text.startswith("**What a reset erases** [1]"), text
    for fact in ("Wi-Fi network", "Custom drink sizes", "doesn't reset the descaling counter"):
        assert fact in text, text
    assert text.count("Wi-Fi network") == 1 and "Tap Reset machine" not in text, text


CANCEL_NOTE = """# Cancel your subscription

If you subscribed in the app, you cancel in your phone's settings.

Deleting the app from your phone does **not** cancel your subscription.

Don't cancel your bank card to stop a subscription: the charge is still owed.

## On iPhone or iPad

1. Open the Settings app on your iPhone or iPad.
2. Tap Subscriptions and then Cancel.
"""


EXPORT_ADMIN = """# Download a copy of your data

## Request your export

1. Sign in at my.kettleby.com.
2. Go to Account > Privacy > Download my data.
3. Click Request export.

## Business accounts

Admins of a Business account can also export their whole organisation's usage from the admin
dashboard. This export only contains data about the organisation's machines and team, not the
personal recipes of team members.
"""


@pytest.mark.parametrize(
    ("article", "title", "told", "opening", "then"),
    [
        (
            CANCEL_NOTE,
            "Cancel your subscription",
            "I deleted the app off my phone weeks ago as I thought that would stop it, but I've "
            "been charged again. I'm on an iPhone. How do I actually cancel?",
            "Deleting the app from your phone does **not** cancel",
            "2. Tap Subscriptions and then Cancel.",
        ),
        # the sentence it points back to comes with it ("This export …")
        (
            EXPORT_ADMIN,
            "Download a copy of your data",
            "Our admin did a big export of the team's usage, but none of my saved recipes were "
            "in it. How do I get a copy myself?",
            "Admins of a Business account can also export",
            "not the personal recipes",
        ),
    ],
)
def test_the_sentence_that_corrects_what_the_customer_believed_comes_first(
    article, title, told, opening, then
):
    text = _offline_text(article, title, told)
    assert text.startswith(opening) and then in text and "bank card" not in text, text


def test_a_customer_who_believed_nothing_gets_nothing_corrected():
    # nothing believed, nothing corrected: the steps open the reply
    plain = _offline_text(CANCEL_NOTE, "Cancel your subscription", "How do I cancel on my iPhone?")
    assert plain.startswith("**On iPhone or iPad**") and "Deleting the app" not in plain, plain


E4_PAGE = """# Error E4

## Cause: the pump needs priming

Hold the Hot water button for 5 seconds until water flows from the wand.

## Cause: the tank valve is stuck

Press the valve in the base of the tank a few times under running water.

## Still seeing E4?

If none of the fixes work, stop using the machine and contact support. Don't open the casing
yourself.
"""


def test_a_customer_who_tried_everything_gets_the_articles_last_resort():
    done = (
        "E4 again. I've done literally everything on your E4 page, priming and the valve. "
        "Should I open it up and look at the pump?"
    )
    text = _offline_text(E4_PAGE, "Error E4", done)
    assert text.startswith("**Still seeing E4?** [1]") and "contact support" in text, text
    for said in (
        "E4 again. I've been through every step on your E4 page. Any ideas?",
        "E4. Been through every single step and it's still there. What do I do?",
    ):
        text = _offline_text(E4_PAGE, "Error E4", said)
        assert text.startswith("**Still seeing E4?** [1]"), text
    # a customer who tried one fix and asks what else is not told to give up
    from autocrm.pipeline.extractive import _EXHAUSTED

    assert _EXHAUSTED.search("I've tried everything and nothing worked")
    assert _EXHAUSTED.search("Followed all the steps, still E4")
    assert not _EXHAUSTED.search("I primed it already and tried it with the filter out. What else?")
    # "done all that" then a question of its own asks that question, not what is left
    assert not _EXHAUSTED.search(
        "Done all that but it can't find it. Bluetooth is off, does that matter?"
    )


def test_sending_something_back_is_returning_it():
    from autocrm.pipeline.extractive import _phrased, terms

    assert "return" in terms(_phrased("Can I send the gift card back for a refund?"))
    assert "return" in terms(_phrased("can i just take it back to the shop"))
    assert "return" not in terms(_phrased("Please get back to me today"))
    assert "return" not in terms(_phrased("Could you send the reply back to me by email"))


RANGES = """# Water hardness

## Intervals

| Water hardness | Replace filter every | Descale every |
|---|---|---|
| Soft (0 to 7 °dH) | 3 months | 3,000 cups |
| Medium (8 to 14 °dH) | 2 months | 2,000 cups |
| Hard (15 to 21 °dH) | 6 weeks | 1,200 cups |
| Very hard (over 21 °dH) | 4 weeks | 800 cups |
"""


def test_a_measurement_the_question_gives_finds_the_row_whose_range_holds_it():
    def rows(question):
        text = _offline_text(RANGES, "Water hardness", question)
        return [ln.split("|")[1].strip() for ln in text.splitlines() if "°dH) |" in ln]

    assert rows("The water board says we're 12 °dH. How often do I change the filter?") == [
        "Medium (8 to 14 °dH)"
    ]
    assert rows("we are at 25dH, how many cups between descales") == ["Very hard (over 21 °dH)"]
    # "16 degrees German hardness" (sa-461): the keys' unit is written with a degree sign
    assert rows(
        "The water board says we're at 16 degrees German hardness. How often do I change "
        "the filter?"
    ) == ["Hard (15 to 21 °dH)"]
    # a number of something else is no measurement: "3 cups" or "1 cup or 2?" pick no range
    from autocrm.pipeline.extractive import _rows_in_range

    keys = ["Soft (0 to 7 °dH)", "Medium (8 to 14 °dH)", "Very hard (over 21 °dH)"]
    assert _rows_in_range("does a double count as 1 cup or 2?", keys) == []
    assert _rows_in_range("I make 3 cups a day and we're on 9 °dH", keys) == [1]


BUSINESS_2SV = """# Two-step verification

## Set it up

1. In the app, go to Settings > Account > Security.
2. Tap Two-step verification and enter your password.
3. Scan the QR code with your authenticator app.

## Business accounts

On the Business plan, an admin can require two-step verification for every team member. Team
members who haven't set it up are asked to do so the next time they sign in. Admins see who has
turned it on in the team dashboard, which lists every member and the date they joined.
"""


def test_a_sentence_that_points_back_is_quoted_with_the_sentence_it_points_to():
    told = (
        "Our admin made two-step verification compulsory and we have to set it up next time we "
        "sign in. I haven't set one up before, what do I do?"
    )
    text = _offline_text(BUSINESS_2SV, "Two-step verification", told)
    assert "an admin can require two-step verification for every team member. Team" in text, text
    assert "3. Scan the QR code" in text, text
    from autocrm.pipeline.extractive import _REFERS_BACK

    assert _REFERS_BACK.match("Team members who haven't set it up are asked to do so.")
    assert _REFERS_BACK.match("It is valid for 60 minutes.")
    assert not _REFERS_BACK.match("The app shows the cups left before the next descale.")


OFFLINE = """# The app can't find my machine

## After setup: the machine shows "Offline"

### Cause: the machine can't reach your Wi-Fi

When the Brew can't connect to Wi-Fi, its ring light blinks white slowly.

**Fix:** unplug the machine for 30 seconds, then plug it back in. If you changed your router or
Wi-Fi password, you need to add the machine again.

### Cause: a firmware update is installing

While the Brew installs an update, the ring light pulses purple and the app shows it as offline.

**Fix:** wait. An update takes up to 15 minutes.

## Still offline?

Restart your router, wait until your phone is back online, then unplug the machine for 30
seconds. If it still shows as offline, a factory reset and fresh setup usually solves it.
"""


def test_what_next_after_what_was_tried_and_ruled_out_is_the_articles_last_resort():
    told = (
        "The Brew has shown Offline for 2 days. I've already unplugged it for 30 seconds twice, "
        "we haven't changed the router or the wifi password, and there's no purple light. "
        "What next?"
    )
    text = _offline_text(OFFLINE, "The app can't find my machine", told)
    assert text.startswith("**Still offline?** [1]"), text
    assert "Restart your router" in text and "factory reset and fresh setup" in text, text
    from autocrm.pipeline.extractive import _negated

    assert {"router", "purpl"} <= _negated(told)
    # what the message asks about is never ruled out by what it says is missing
    asked = "How do I cancel Plus? There's no cancel button anywhere in the app."
    assert "cancel" not in _negated(asked)


E4_NUMBERED = """# Error E4: no water flow

## Symptom

The display shows E4 and the pump hums, but no water comes out. Work through the causes below in
order.

## Cause 1: Air in the water line

This happens after the tank has run dry.

**Fix:**

1. Fill the tank to the MAX line.
2. Hold the Hot water button for 5 seconds to prime the pump.

## Cause 2: Blocked water filter

An old filter can block the tank outlet.

**Fix:** Take the filter out of the tank and make a drink without it.

## Cause 3: Dirty tank valve

The valve in the base of the tank can stick.

**Fix:** Press the valve a few times under running water.

## Still seeing E4?

Contact support.
"""


def test_how_to_fix_an_error_gets_each_numbered_cause_with_its_fix_in_order():
    text = _offline_text(
        E4_NUMBERED, "Error E4: no water flow", "How do I fix E4? The pump hums, tank is full"
    )
    steps, filter_, valve = (
        text.find("Hold the Hot water button"),
        text.find("Take the filter out"),
        text.find("Press the valve a few times"),
    )
    assert 0 <= steps < filter_ < valve, text
    assert "An old filter can block" in text, text  # each cause says what it is: which is theirs
    # what the customer has tried is left out
    tried = "Still E4 after I took the filter out. How do I fix it?"
    text = _offline_text(E4_NUMBERED, "Error E4: no water flow", tried)
    assert "Press the valve a few times" in text and "Take the filter out" not in text, text


PRIVACY_HOW_TO = """# Your privacy rights

## Your rights

- **Access:** get a copy of the personal data we hold about you.
- **Correction:** ask us to fix data that is wrong or incomplete.

For anything else, make a privacy request.

## How to make a privacy request

Email privacy@kettleby.com from the email address on your account.

## Complaints

You can complain to the Information Commissioner's Office.
"""


def test_a_passage_naming_what_to_do_brings_its_articles_section_on_how_to_do_it():
    asked = "My old invoices have my maiden name. I'd like you to fix data that is wrong, please."
    text = _offline_text(PRIVACY_HOW_TO, "Your privacy rights", asked)
    assert "make a privacy request" in text and "Email privacy@kettleby.com" in text, text
    assert text.index("**Correction:**") < text.index("Email privacy@"), text
    assert "Information Commissioner" not in text, text


PLAN_FEATURES = """# App plans

## Compare the plans

| Feature | Free | Plus | Business |
|---|---|---|---|
| Price per month | £0 | £3.99 | £12.99 per machine |
| Price per year | Not applicable | £39.99 | £129.99 per machine |
| Machines per account | 1 | 3 | 50 |
| Recipes saved | 20 | 500 | Unlimited |
| Brew history | 30 days | 1 year | 3 years |
| Usage reports | Not included | Monthly email summary | Live dashboard |
| Support | Help centre only | Email support within 48 hours | Priority phone support |
| Free trial | Not applicable | 14 days | 30 days |
"""


def test_the_row_asked_about_stays_however_far_down_the_table_it_is():
    asked = (
        "I'm just on the free version of the app and I've got a question about my machine that "
        "I can't find an answer to in your help pages. Am I able to email someone at Kettleby "
        "about it? If not, which plan would I need and how quickly would you get back to me?"
    )
    text = _offline_text(PLAN_FEATURES, "App plans", asked)
    assert "| Support | Help centre only | Email support within 48 hours |" in text, text
    # the rows that hold one word of the message each, as the Support row does, stay out
    assert "Price per month" not in text and "Free trial" not in text, text


LEAK_AT_THE_BACK = """# Water under the machine

A little water on the counter is usually harmless.

## Water from the back of the machine

If water comes from the back while the machine is switched off, there may be a leak inside.

1. Switch the machine off and unplug it.
2. Contact support, describing where the water appears.

Never try to open the casing yourself.
"""


@pytest.mark.parametrize(
    "asking",
    [
        "Wondering if it unlocks itself after a while.",
        "Not sure if it unlocks itself after a while.",
        "Just checking whether it unlocks itself after a while.",
        "I'd love to know if it unlocks itself after a while.",
    ],
)
def test_a_sentence_that_wonders_asks(asking):
    from autocrm.pipeline.extractive import Question

    story = "My Brew shows E8 and none of the coffee buttons do anything."
    assert Question(f"{story} {asking}").asked == asking


def test_tell_me_how_much_asks_a_value_not_the_steps():
    from autocrm.pipeline.extractive import Question

    asked = "What is the API rate limit on Team, and which headers tell me how much is left?"
    assert not Question(asked).asks_how and Question(asked).wants_value
    assert Question("Can you tell me how to reset it?").asks_how


CANCEL_THREE_WAYS = """# Cancel your plan

How you cancel depends on where you subscribed.

## On iPhone or iPad (billed by Apple)

1. Open the Settings app on your iPad.
2. Tap your name, then Subscriptions.
3. Tap Cancel Subscription.

## On the web (billed by Kettleby)

1. Sign in at my.kettleby.com.
2. Go to Billing > Subscription.
3. Click Cancel plan and then Confirm cancellation.
"""


def test_a_heading_phrase_the_customer_writes_out_names_the_procedure():
    asked = (
        "I thought I'd signed up on my iPad, but it isn't in the iPad's Subscriptions. The app "
        "says billed by Kettleby. So where do I actually cancel the thing?"
    )
    text = _offline_text(CANCEL_THREE_WAYS, "Cancel your plan", asked)
    assert "Confirm cancellation" in text and "Settings app on your iPad" not in text, text


PLUS_INTRO_AND_PRICES = """# App plans

Every machine works with the free app. **Plus** adds more recipes and schedules for coffee lovers at home.

## Compare the plans

| Feature | Free | Plus |
|---|---|---|
| Price per month | £0 | £3.99 |
| Recipes saved | 20 | 500 |
"""


RETURN_WINDOW = """# Returns

Returning an item is free for UK customers, and we refund it to the card you paid with.

## Return window

You can send an item back within 30 days of delivery, for any reason.
"""


_LEAK_STEPS = ("1. Switch the machine off and unplug it.", "2. Contact support")


@pytest.mark.parametrize(
    ("markdown", "title", "asked", "wanted"),
    [
        *(
            (LEAK_AT_THE_BACK, "Water under the machine", asked, _LEAK_STEPS)
            for asked in (
                "There's water at the back and it was switched off all night. What should we be doing?",
                "Water at the back, machine switched off. Is there a proper way to deal with it?",
                "Found water at the back though it was switched off. Can you take me through it start to finish?",
                "Water at the back and it was switched off. Talk me through it?",
                "Water at the back though it's switched off. How am I supposed to deal with that?",
                "Water at the back, it was switched off. What's the procedure?",
                "Water at the back while switched off. Can you show me how to deal with it?",
            )
        ),
        *(
            (PLUS_INTRO_AND_PRICES, "App plans", asked, ("| Price per month | £0 | £3.99 |",))
            for asked in ("What do you charge for Plus?", "How pricey is Plus?")
        ),
        *(
            (RETURN_WINDOW, "Returns", asked, ("within 30 days of delivery",))
            for asked in (
                "Returning a kettle I bought: what's the time limit?",
                "What's the deadline for returning an item?",
            )
        ),
    ],
)
def test_ways_of_asking_for_steps_a_price_or_a_time_get_them(markdown, title, asked, wanted):
    text = _offline_text(markdown, title, asked)
    assert all(w in text for w in wanted), text


SHIPPING_TIMES = """# Shipping rates

| Destination | Service | Delivery time after dispatch | Cost | Free shipping on orders over |
|---|---|---|---|---|
| UK mainland | Standard | 2 to 3 working days | £3.95 | £40 |
| Scottish Highlands and Islands | Standard | 3 to 5 working days | £5.95 | £60 |
| European Union | International | 4 to 7 working days | £9.95 | £120 |
"""


def test_a_time_asked_states_the_rows_time_column():
    asked = "I'm in Germany. If I order now, how long will it take to get to me?"
    text = _offline_text(SHIPPING_TIMES, "Shipping rates", asked)
    assert text.startswith("European Union — Delivery time after dispatch: 4 to 7 working"), text
    # the cost asked too: both stated
    asked = "How much is shipping to Germany and how long does it take?"
    text = _offline_text(SHIPPING_TIMES, "Shipping rates", asked)
    assert text.startswith(
        "European Union — Cost: £9.95; Delivery time after dispatch: 4 to 7 working days."
    ), text
    # a place in a zone the table lists names its row: stated
    asked = "I live on the Isle of Skye. How long does standard delivery take to get to me?"
    text = _offline_text(SHIPPING_TIMES, "Shipping rates", asked)
    assert text.startswith(
        "Scottish Highlands and Islands — Delivery time after dispatch: 3 to 5 working days."
    ), text
    # a row the question does not name is shown, never stated as the answer
    asked = "I live on the Isle of Wight. How long does standard delivery take to get to me?"
    text = _offline_text(SHIPPING_TIMES, "Shipping rates", asked)
    assert "— Delivery time after dispatch" not in text, text


SCHEDULES = """# Schedule a brew

A schedule makes a drink at a set time, once or on repeat. How many you can keep depends on
your plan.

## Set up a schedule

1. In the app, tap your machine and go to **Schedules**.
2. Tap **Add schedule** and choose the drink and the time.
3. Choose the days to repeat it on and tap **Save**.

## Does my phone need to be on?

No. Schedules are stored on the machine itself, so they run even if your phone is off or the
Wi-Fi is down. The machine only needs to have been online when you saved the schedule.

## Before a scheduled brew

Make sure there are beans in the hopper, water in the tank and a cup under the spout.
"""


def _reply_by_meaning(embedder, markdown: str, title: str, latest: str) -> str:
    """The offline reply over one made-up article, with the model at hand as in a draft: each
    section's cosine to the message (as its best chunk's would be), and cosines to a part of it."""
    from autocrm.pipeline.answer import _cosines_to
    from autocrm.pipeline.articles import Sources
    from autocrm.pipeline.extractive import Question, answer

    def cosines(texts, to):
        return _cosines_to(embedder, texts, to)

    sections = parse_article(markdown, title)
    texts = [" › ".join([title, *s.path]) + "\n" + s.blocks[0].markdown for s in sections]
    source = _source(markdown, title, similarity=cosines(texts, latest))
    sources = Sources([source], {}, 1.0, similarity_to=cosines)
    return "\n\n".join(answer(Question(latest), sources).parts)


def test_each_question_of_a_message_finds_its_own_answer(real_embedder):
    """Two questions in one message: the words of the whole message pick the procedure; the
    second question alone finds the section that answers it, which joins the reply because it is
    closer in meaning to that question than the procedure is. A message that asks one thing gets
    its answer alone."""

    def reply(latest: str) -> str:
        return _reply_by_meaning(real_embedder, SCHEDULES, "Schedule a brew", latest)

    both = reply(
        "We keep a Brew at our caravan and the wifi there keeps cutting out. I'd love a latte "
        "waiting at 8 every morning. How do I set that up? And will it still happen if the wifi "
        "is down at 8?"
    )
    assert "Tap **Add schedule**" in both
    assert "Schedules are stored on the machine itself" in both
    one = reply("I'd love a latte waiting at 8 every morning. How do I set that up?")
    assert "Tap **Add schedule**" in one and "stored on the machine" not in one


TWO_STEP_LOST_PHONE = """# Two-step verification

Two-step verification adds a code from an authenticator app when you sign in.

## Set it up

1. In the app, go to **Settings > Account > Security**.
2. Tap **Two-step verification** and enter your password.
3. Scan the QR code with your authenticator app.
4. Enter the 6-digit code it shows and tap **Verify**.
5. Save your 10 backup codes somewhere safe, then tap **Done**.

## Backup codes

Backup codes let you sign in if you don't have your authenticator app. Each backup code works
only once.

## Lost your phone and your backup codes?

Contact support. We need to verify your identity before we can switch off two-step
verification, which can take up to 3 business days.
"""


def test_a_follow_up_is_not_answered_with_what_the_thread_already_told():
    """The agent gave the set-up steps; the customer asks what happens if the phone and the codes
    are lost. The reply answers that, without quoting the steps they were just given."""
    told = (
        "In the app go to Settings > Account > Security, tap Two-step verification and enter "
        "your password. Scan the QR code with your authenticator app, enter the 6-digit code it "
        "shows and tap Verify, then save your 10 backup codes somewhere safe and tap Done."
    )
    reply = _offline_answer_over(
        [(TWO_STEP_LOST_PHONE, "Two-step verification")],
        "ok, and worst case - if I set it up, lost my phone and couldn't find the backup codes "
        "either, would I be locked out for good?",
        previous="how do i set up two-step verification on my account?",
        answered=told,
    )
    text = "\n\n".join(reply.parts)
    assert "verify your identity" in text, text
    assert "Scan the QR code" not in text, text
    # without the thread's answer the steps are what "set it up" asks for
    fresh = _offline_answer_over(
        [(TWO_STEP_LOST_PHONE, "Two-step verification")],
        "how do i set it up? and if I lose my phone, would I be locked out for good?",
    )
    assert "Scan the QR code" in "\n\n".join(fresh.parts)


PRIVACY_RIGHTS = """# Your privacy rights

## Your rights

- **Erasure:** ask us to delete your data, unless we must keep it by law.
- **Access:** get a copy of the personal data we hold about you.

## How to make a privacy request

Email **privacy@example.com** from the email address on your account.

## Complaints

If you're unhappy with how we've handled your data, please tell us first so we can try to put it
right. You can also complain to the data protection authority in your country.
"""


@pytest.mark.parametrize(
    "asked",
    [
        "And if I'm not happy with what you do with it, who do I go to?",
        "What if I'm dissatisfied with how it's handled - is there a regulator?",
    ],
)
def test_not_happy_finds_the_section_for_the_unhappy(asked):
    reply = _offline_answer_over([(PRIVACY_RIGHTS, "Your privacy rights")], asked)
    assert reply.parts[0].startswith("**Complaints**"), reply.parts


SCHEDULES_EDIT_AND_PAUSE = """# Schedule a brew

## Create a schedule

1. In the app, tap your machine and then **Schedules**.
2. Tap **New schedule**, choose the drink and the time, and tap **Save**.

## Edit or delete a schedule

Tap the schedule in the **Schedules** list to change it. To delete it, swipe left on the
schedule and tap **Delete**.

## Going on holiday?

Tap **Schedules > Pause all** to stop every schedule without deleting them. Tap **Resume all**
when you're back.
"""


def test_a_request_after_its_reason_is_a_question_of_its_own(real_embedder):
    """ "My son's moved out so I want to get rid of his one" asks for something (deleting a
    schedule) beside the message's "how do I" question; the sentence that stops schedules
    "without deleting them" is not the answer to it."""
    text = _reply_by_meaning(
        real_embedder,
        SCHEDULES_EDIT_AND_PAUSE,
        "Schedule a brew",
        "Two things with the timers on our Brew. My son's moved out so I want to get rid of his "
        "6am one completely. And we're away for three weeks from Friday - how do I stop the "
        "others going off while we're gone without having to set them all up again?",
    )
    flat = " ".join(text.split())
    assert "Pause all" in flat and "swipe left on the schedule" in flat, text


SOUR_COFFEE = """# Coffee tastes sour

## Cause: the grind is too coarse

Water rushes through coarse grounds before the flavour has developed.
**Fix:** turn the grind dial one step finer.
"""


def test_a_row_key_the_message_uses_for_something_else_does_not_pick_the_row():
    """ "Medium roast" names the hardness table's Medium row by its word, but that table is
    unrelated in meaning to a message about sour coffee (its section's cosine is below 0): the
    row gets no bonus for its key, and the cause that answers leads. Where the table is related,
    the key picks its row."""
    asked = (
        "I turned the grind dial right up because a mate said coarser = less bitter. Now every "
        "coffee is thin and sharp, kind of sour. Medium roast, bag opened last week. What should "
        "I do?"
    )
    from autocrm.pipeline.articles import Sources
    from autocrm.pipeline.extractive import Question, answer

    def reply_with(hardness_cosine: float):
        sour = _source(SOUR_COFFEE, "Coffee tastes sour", 0, (0.05, 0.05))
        hardness = _source(HARDNESS, "Water hardness", 1, (hardness_cosine,))
        sources = [sour, hardness]
        return "\n\n".join(answer(Question(asked), Sources(sources, {}, 1.0)).parts)

    assert reply_with(-0.05).startswith("**Cause: the grind is too coarse**"), reply_with(-0.05)
    assert "| Medium |" in reply_with(0.3)


CLOSE_ACCOUNT = """# Close your account

You can close your account at any time.

## Before you close it

- **Cancel any paid plan first.** Closing your account doesn't stop payments made through the
  App Store or Google Play. If you pay us directly, we ask you to cancel before you continue.
- **Download your data** if you want to keep your recipes or your brew history. Once the account
  is closed, we can't recover them for you.
- **Devices are released.** Any device on your account is removed, so someone else can add it.
  It keeps working with its own buttons.

## How to close your account

1. Go to **Settings > Account > Close account**.
2. Type CLOSE and tap **Close my account**.
"""


def test_a_question_in_the_words_of_a_lists_heading_gets_the_whole_list():
    """A list too long to quote whole is quoted by its matching item; but a question asked in
    the words of its heading ("anything I should do before I close it?" under "Before you close
    it") is asked about the whole section: every item. A question about one item gets that one."""
    whole = _offline_text(
        CLOSE_ACCOUNT,
        "Close your account",
        "I pay through the App Store and I've got years of recipes. Anything I should do before "
        "I close it?",
    )
    assert all(item in whole for item in ("Cancel any paid plan", "Download your data")), whole
    one = _offline_text(
        CLOSE_ACCOUNT, "Close your account", "Does closing my account stop App Store payments?"
    )
    assert "Cancel any paid plan" in one and "Download your data" not in one, one


WARRANTY_PERIODS = """# Warranty

Every machine comes with a warranty against faults in materials and workmanship.

## How long the warranty lasts

- **Home use:** 2 years from the date of delivery.
- **Extended warranty:** register the machine in the app within 60 days of delivery and your
  warranty is extended to 3 years, at no extra cost.
- **Machines on a Business plan** (offices, cafés and other commercial use): 1 year or 30,000
  cups, whichever comes first.
- **Accessories** such as the milk jug and frothing tip: 6 months.

## What's covered

Faults caused by manufacturing defects, such as a pump that stops working, a leaking boiler, or
display and sensor faults.
"""


def test_a_stated_age_asked_against_a_policy_gets_the_policys_time_limit():
    """ "About 20 months old … would the warranty cover a dodgy sensor?": what is covered
    answers the question (closest in meaning), and the customer needs the time limit too, to
    see whether their case is still within it. Without a stated age, no time limit is added."""

    def reply(latest: str) -> str:
        # cosines per section (intro, how long, what's covered), as a real message's are
        answer = _offline_answer_over(
            [(WARRANTY_PERIODS, "Warranty")], latest, similarity=(0.2, 0.2, 0.4)
        )
        return "\n\n".join(answer.parts)

    aged = reply(
        "The display keeps saying the tank is empty when it's full. The machine is about 20 "
        "months old. Would the warranty cover a dodgy sensor?"
    )
    assert aged.startswith("**What's covered**"), aged
    assert "2 years from the date of delivery" in aged, aged
    plain_ask = reply("Would the warranty cover a dodgy sensor?")
    assert "display and sensor faults" in plain_ask and "2 years" not in plain_ask, plain_ask


ERROR_CODES = """# Error codes

When something stops the machine, the display shows a code. Find the code in the table below
and follow the fix. Once the problem is solved, press the Start button once to clear the code.

## Error code table

| Code | What it means | What to do |
|---|---|---|
| E1 | Tank missing | Push the tank down until it clicks |
| E2 | Tank empty | Fill the tank to at least the MIN line |
| E3 | Hopper empty | Refill the hopper |
| E6 | Brew unit not detected | Rinse the brew unit and push it back until it clicks |
"""


def test_rows_come_with_what_the_opening_says_of_every_row_and_each_named_row_is_stated():
    """Two codes asked at once: each is stated, and the rows come with the opening's note that
    holds for every row ("press the Start button once to clear the code"), which sits above the
    table, not in it."""
    text = _offline_text(
        ERROR_CODES,
        "Error codes",
        "One machine is showing E6 and the other one's on E2. What does each one mean and how do I "
        "get them going again?",
    )
    assert "E2 — What it means: Tank empty." in text and "E6 — What it means: Brew unit" in text
    assert text.endswith("press the Start button once to clear the code."), text


def test_what_the_customer_does_not_want_to_do_is_not_the_answer():
    """ "I don't want to close my account, but …" rules out closing it: read in the article's
    words (closing an account is deleting it), the deletion steps are not quoted."""
    articles = [
        (
            """# Your privacy rights

## How to make a privacy request

Email privacy@example.com from the address on your account. Tell us which right you want to use.
""",
            "Your privacy rights",
        ),
        (
            """# Delete your account

## How to delete your account

1. Go to Settings > Account > Delete account.
2. Type DELETE and tap Delete my account.
""",
            "Delete your account",
        ),
    ]
    answer = _offline_answer_over(
        articles,
        "I don't want to close my account, but I do want you to stop using my details under my "
        "privacy rights. How do I go about that?",
    )
    text = "\n\n".join(answer.parts)
    assert "privacy@example.com" in text and "Type DELETE" not in text, text


PASSWORD = """# Change or reset your password

## Change your password while signed in

1. In the app, go to **Settings > Account > Password**.
2. Enter your current password.
3. Type your new password twice and tap **Save**.

## Forgot your password?

1. On the sign-in screen, tap **Forgot password?**
2. Open the email we send you and tap the link.

## Tips for a strong password

Use a passphrase of a few unrelated words rather than a single word with numbers. Don't reuse
the password of another site.
"""


def test_a_question_that_names_a_word_only_one_heading_holds_gets_that_section(real_embedder):
    """ "Any tips for picking a better one?" means little alone (its cosine to the tips is low),
    but it names the one heading of the article that says "tips": that section joins the
    procedure. A message that asks only how gets the procedure alone."""
    both = _reply_by_meaning(
        real_embedder,
        PASSWORD,
        "Change or reset your password",
        "I want to change my password, I'm signed in on my phone right now. How do I change it? "
        "And any tips for picking a better one?",
    )
    assert "Type your new password twice" in both and "passphrase of a few unrelated" in both
    one = _reply_by_meaning(
        real_embedder,
        PASSWORD,
        "Change or reset your password",
        "I want to change my password, I'm signed in on my phone right now. How do I change it?",
    )
    assert "Type your new password twice" in one and "passphrase" not in one, one


def test_supposed_to_do_asks_how_and_how_would_i_have_known_asks_for_a_sign():
    from autocrm.pipeline.extractive import Question

    assert Question("What is he actually supposed to do with it once he's done frothing?").asks_how
    assert Question("What are we meant to do after a power cut?").asks_how
    assert not Question("How would I have known it was due?").asks_how
    assert not Question("How do I know if the filter needs changing?").asks_how
    assert Question("How do I change the filter?").asks_how


FAILED_PAYMENT = """# Update the card you pay with

## Replace your card

1. Sign in at my.example.com.
2. Go to **Billing > Payment method** and click **Replace card**.

## If a payment fails

We'll email you and try the payment again 3 times over 7 days. You keep full access during this
time.
"""


@pytest.mark.parametrize(
    "asked",
    [
        "My Plus payment didn't go through last night, what happens now?",
        "The card was declined when Plus renewed, what happens now?",
    ],
)
def test_a_payment_that_did_not_go_through_is_a_failed_payment(asked):
    """ "My payment didn't go through" names neither "fails" nor anything of the replace-card
    steps but "payment": read as a failed payment, the section for one answers."""
    text = _offline_text(FAILED_PAYMENT, "Update the card you pay with", asked)
    assert "try the payment again 3 times" in text and "Replace card" not in text, text


RETURNS_REFUNDS = """# Returns policy

## The rules

- You can return most items within 30 days of delivery.
- Return shipping is free for UK customers. Customers in the EU pay for return shipping.

## Refunds

We refund the price of the item and the original shipping cost if you return the whole order.

## Delivery

Standard delivery costs £3.95 per order, and it is free on orders over £40.
"""


def test_a_sum_asked_back_is_a_refund():
    """ "Do I get the £3.95 back?" asks for a refund (the sum is what was paid, not a price to
    look up)."""
    refund = _offline_text(
        RETURNS_REFUNDS, "Returns policy", "I sent the whole order back. Do I get the £3.95 back?"
    )
    assert "original shipping cost" in refund and "£40" not in refund, refund


def test_a_question_opening_am_i_asks_and_a_sentence_about_this_time_keeps_its_reason():
    """ "Am I about to lose Plus, and what do I need to do?" asks two things (a question may
    open with "am"); "lose Plus" is asked as the access you keep, and "You keep full access
    during this time" comes with the sentence that says which time."""
    from autocrm.pipeline.extractive import _asking

    pieces, asking = _asking(
        "My payment failed. Am I about to lose Plus, and what do I need to do?"
    )
    assert [pieces[n] for n in asking] == ["Am I about to lose Plus", "and what do I need to do?"]
    text = _offline_text(
        FAILED_PAYMENT,
        "Update the card you pay with",
        "Got an email saying my Plus payment failed. Am I about to lose Plus?",
    )
    said = " ".join(text.split())
    assert "try the payment again 3 times over 7 days. You keep full access" in said, text


SHIPPED_RETURNS = f"""{RETURNS}- Return shipping is **free for UK customers**. Customers in the EU, the US and Canada pay for return shipping, unless the item arrived faulty or damaged.
"""


def test_items_of_one_long_list_are_quoted_once_together_in_list_order():
    """sa-465: the "30 days" item answered first, and the return-shipping item, which a message
    that gives a time quotes with the list's time limit, brought "30 days" a second time."""
    found = _offline_answer(
        SHIPPED_RETURNS,
        "Returns policy",
        "I'm in Toronto, it came about 3 weeks ago. Can I still send it back, 3 weeks on? "
        "And who pays to ship it back to you?",
    )
    text = "\n\n".join(found.parts)
    assert text.count("30 days of delivery") == 1, text
    assert text.count("**The rules**") <= 1, text
    assert "Customers in the EU, the US and Canada pay" in text, text
    assert text.index("30 days of delivery") < text.index("Return shipping"), text
    assert "Gift cards" not in text, text  # still not the whole list


DESCALE = """# Descale your machine

## Descale from the app

1. Open the app and tap your machine.
2. Go to Settings > Maintenance > Descale.
3. Put the descaler in the tank and tap Start descaling.

## Descale on the machine (without the app)

Use this if your phone isn't to hand.

1. Put the descaler in the tank.
2. Press and hold the Steam and Hot water buttons for 5 seconds.
3. Press Brew to start the cycle.
"""


def test_a_customer_who_has_the_app_is_not_given_the_steps_for_doing_without_it():
    question = "I do have the app on my phone. What do I press to descale, and in what order?"
    text = _offline_text(DESCALE, "Descale your machine", question)
    assert "Start descaling" in text and "Steam and Hot water" not in text
    # the section is still there for whoever has not
    text = _offline_text(
        DESCALE, "Descale your machine", "My phone isn't to hand. What do I press to descale?"
    )
    assert "Steam and Hot water" in text


FACTORY_RESET = """# Factory reset

## Reset from the app

Use this when the machine is online and shows as connected in the app.

1. Open the app and tap your machine.
2. Go to Settings > Machine > Factory reset.

## Reset on the machine

Use this when the app can't reach the machine.

1. Switch the machine off.
2. Hold Brew and Steam while you switch it on.
"""


def test_a_sentence_stating_the_opposite_condition_does_not_answer():
    """ "The app shows it as Offline": not "Use this when the machine is online" either, though
    that sentence names the app and the machine as often as the message does."""
    found = _offline_answer_over(
        [(FACTORY_RESET, "Factory reset")],
        "The app just shows the machine as Offline. Is there another way to reset it?",
        previous="How do I factory reset it?",
        answered="Tap your machine, go to Settings > Machine > Factory reset.",
    )
    text = "\n\n".join(found.parts)
    assert "Hold Brew and Steam" in text and "is online" not in text


def test_a_units_coverage_does_not_depend_on_the_order_of_the_questions_terms():
    """A question's terms come from sets, whose order changes with the process's hash seed: a
    plain sum's last bits changed with it, and two sentences tied on coverage swapped places
    from one eval run to the next (sa-881's reply opened with either)."""
    weights = {"refund": 0.1, "postage": 0.2, "return": 0.3, "madrid": 0.7}
    got = {"refund", "postage", "return"}
    seen = {
        coverage_of(dict((t, weights[t]) for t in order), got)
        for order in itertools.permutations(weights)
    }
    assert len(seen) == 1, seen


PROBLEMS_AND_CAUSES = """# Water around the machine

## Water in front of the machine

### Cause: the drip tray is full
Empty the drip tray.

## Water under the water tank

### Cause: the tank isn't seated
Push the tank down.

## Water from the back of the machine

Switch the machine off and contact support.
"""

GUIDE_SECTIONS = """# Storage types

## Magnetic storage

### Magnetic limits
Up to 3 TB.

## Provisioned IOPS storage

### Provisioned limits
Up to 64 TB.

## Latency

Single-digit millisecond latencies.
"""


def test_a_problem_named_alone_rules_out_its_siblings_with_no_causes_below_only_on_a_cause_page():
    """The message names "front" alone: on a page of problems and their causes, the other
    problems are ruled out, the one with no causes below it too (its steps had opened a reply
    about a puddle at the front); on a guide whose sections are not causes, a section with
    nothing below it is never ruled out (AWS's "three storage types" list, read for latency)."""
    from autocrm.pipeline.extractive import _other_symptoms
    from autocrm.pipeline.text import terms

    def under(article, heading: str) -> set[int]:
        return {n for n, s in enumerate(article.sections) if s.path[:1] == (heading,)}

    leaks = _source(PROBLEMS_AND_CAUSES, "Water around the machine")
    off = _other_symptoms(leaks, frozenset(terms("a puddle along the front")))
    assert under(leaks, "Water from the back of the machine") <= off
    assert under(leaks, "Water under the water tank") <= off
    assert not under(leaks, "Water in front of the machine") & off

    guide = _source(GUIDE_SECTIONS, "Storage types")
    off = _other_symptoms(guide, frozenset(terms("how fast is magnetic storage")))
    assert not under(guide, "Latency") & off
    assert under(guide, "Provisioned IOPS storage") <= off
