"""Priority, sentiment, intent and a keyword category: small, transparent rules over the ticket text.

The rules are data (``rules.yaml``; the demo organisation's topics and category slugs are seed
data, ``db/seeds/triage_topics.yaml``); each function returns what it concluded and, for ``signals``,
the text each rule matched, so that a reviewer sees why. The organisation's own name (customers
write "<product> is down") comes from the database, not from the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import psycopg
import yaml

from autocrm.db.migrate import SEED_FILE
from autocrm.pipeline.triage.schemas import snake

RULES_FILE = Path(__file__).with_name("rules.yaml")
# The organisation's own words (topics named after its product areas and its category slugs) are
# seed data, next to the demo organisation they describe; the rules above are general.
TOPICS_FILE = SEED_FILE.with_name("triage_topics.yaml")
ORGANISATION = "{organisation}"
# A regex alternative that never matches: the placeholder when the organisation has no name.
_NOTHING = "(?!)"

# The help desk's own organisation: what its agents and admins work for.
ORGANISATION_NAMES_SQL = """
SELECT DISTINCT lower(organization) AS name
  FROM users
 WHERE role IN ('agent', 'admin') AND coalesce(organization, '') <> ''
 ORDER BY 1
"""


@dataclass(frozen=True)
class Topic:
    name: str
    pattern: re.Pattern[str]
    categories: frozenset[str]  # the kb_categories slugs the topic belongs to


@dataclass(frozen=True)
class Rules:
    urgent: tuple[tuple[str, re.Pattern[str]], ...]  # (intent, pattern)
    high: tuple[re.Pattern[str], ...]
    problem: tuple[re.Pattern[str], ...]
    question_start: re.Pattern[str]
    request: tuple[re.Pattern[str], ...]
    negative: re.Pattern[str]
    positive: re.Pattern[str]
    polite: re.Pattern[str]
    polite_weight: float
    exclamations: re.Pattern[str]
    caps_word: re.Pattern[str]
    caps_allowed: frozenset[str]
    fixed_intents: tuple[tuple[str, re.Pattern[str]], ...]
    topics: tuple[Topic, ...]
    category_topics: dict[str, str]


def organisation_names(conn: psycopg.Connection) -> tuple[str, ...]:
    """The organisation's names in lower case, as the rules read them."""
    return tuple(r["name"] for r in conn.execute(ORGANISATION_NAMES_SQL))


@cache
def _data() -> dict[str, Any]:
    data = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    topics = yaml.safe_load(TOPICS_FILE.read_text(encoding="utf-8")) or {}
    data["intent"]["topics"] = topics.get("topics") or []
    data["intent"]["category_topics"] = topics.get("category_topics") or {}
    return data


def _pattern(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "|".join(value)


def _rx(value: str | list[str]) -> re.Pattern[str]:
    return re.compile(_pattern(value))


@lru_cache(maxsize=8)
def load_rules(organisation: tuple[str, ...] = ()) -> Rules:
    """The rules of ``rules.yaml``, ``{organisation}`` standing for these names (lower case)."""
    data = _data()
    names = "|".join(re.escape(name) for name in organisation) or _NOTHING
    priority, sentiment, intent = data["priority"], data["sentiment"], data["intent"]
    return Rules(
        urgent=tuple(
            (name, re.compile(pattern.replace(ORGANISATION, names)))
            for name, pattern in priority["urgent"]
        ),
        high=tuple(map(_rx, priority["high"])),
        problem=tuple(map(_rx, priority["problem"])),
        question_start=_rx(priority["question_start"]),
        request=tuple(map(_rx, priority["request"])),
        negative=_rx(sentiment["negative"]),
        positive=_rx(sentiment["positive"]),
        polite=_rx(sentiment["polite"]),
        polite_weight=float(sentiment["polite_weight"]),
        exclamations=_rx(sentiment["exclamations"]),
        caps_word=_rx(sentiment["caps_word"]),
        caps_allowed=frozenset(sentiment["caps_allowed"].split()),
        fixed_intents=tuple((i["name"], _rx(i["pattern"])) for i in intent["fixed"]),
        topics=tuple(
            Topic(t["name"], _rx(t["pattern"]), frozenset(t["categories"]))
            for t in intent["topics"]
        ),
        category_topics=dict(intent["category_topics"]),
    )


def normalise(text: str) -> str:
    """Lower case, typographic apostrophes as ASCII: what the keyword patterns are written for."""
    return text.lower().replace("\u2019", "'")


def _hits(patterns: Iterable[re.Pattern[str]], text: str) -> list[str]:
    """The matched text of each pattern that matches: what ``signals`` shows a reviewer."""
    return [m.group(0) for m in map(lambda rx: rx.search(text), patterns) if m]


def priority(text: str, *, rules: Rules) -> tuple[str, dict]:
    urgent = _hits([rx for _, rx in rules.urgent], text)
    high = _hits(rules.high, text)
    problem = _hits(rules.problem, text)
    request = _hits(rules.request, text)
    question = "?" in text or bool(rules.question_start.match(text))
    if urgent:
        level = "urgent"
    elif high:
        level = "high"
    elif question and not problem and not request:
        level = "low"
    else:
        level = "normal"
    return level, {
        "urgent": urgent,
        "high": high,
        "problem": problem,
        "request": request,
        "question": question,
    }


def sentiment(text: str, raw: str, *, severe: bool, rules: Rules) -> tuple[str, dict]:
    negative = sorted({m.group(0) for m in rules.negative.finditer(text)})
    positive = sorted({m.group(0) for m in rules.positive.finditer(text)})
    polite = sorted({m.group(0) for m in rules.polite.finditer(text)})
    neg = len(negative) + (1 if severe else 0)
    pos = len(positive) + rules.polite_weight * len(polite)
    caps = [w for w in rules.caps_word.findall(raw) if w not in rules.caps_allowed]
    emphasis = bool(rules.exclamations.search(raw)) or len(caps) >= 2
    if emphasis:
        # Emphasis amplifies whichever side dominates; with nothing positive said, "!!!" and
        # shouting in a support ticket are frustration.
        if pos > neg:
            pos += 1
        else:
            neg += 1
    # A full point either way: a polite "thanks" alone does not make a ticket positive.
    score = pos - neg
    label = "positive" if score >= 1 else "negative" if score <= -1 else "neutral"
    return label, {
        "negative": negative,
        "positive": positive + polite,
        "severe_problem": severe,
        "emphasis": emphasis,
        "caps_words": caps[:5],
        "score": round(score, 2),
    }


def intent(
    subject: str, text: str, *, category: str | None, priority_signals: dict, rules: Rules
) -> tuple[str, dict]:
    for name, rx in [*rules.urgent, *rules.fixed_intents]:
        if m := rx.search(text):
            return name, {"intent_rule": f"keyword:{m.group(0)}"}
    # The subject says what the ticket is about; the description mentions much else in passing,
    # so a topic found only there must at least fit the category.
    topic = next((t.name for t in rules.topics if t.pattern.search(subject)), None) or next(
        (t.name for t in rules.topics if category in t.categories and t.pattern.search(text)),
        None,
    )
    source = "keyword" if topic else "category"
    if topic is None:
        topic = rules.category_topics.get(category or "", snake(category or "general"))
    if priority_signals["problem"] or priority_signals["high"]:
        kind = "problem"
    elif priority_signals["question"]:
        kind = "question"
    else:
        kind = "request"
    return f"{topic[:50]}_{kind}", {"intent_rule": f"{source}:{topic}+{kind}"}


def keyword_category(subject: str, text: str, known: set[str], *, rules: Rules) -> str | None:
    """The one known category of the first keyword topic (subject first), if it has just one."""
    for haystack in (subject, text):
        for topic in rules.topics:
            if topic.pattern.search(haystack) and len(fitting := topic.categories & known) == 1:
                return next(iter(fitting))
    return None
