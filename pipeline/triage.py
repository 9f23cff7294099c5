"""Ticket triage: analyse a new ticket, route it, write the result back in one UPDATE.

- ``analyse_ticket``: category, priority, sentiment, language and intent. Offline (no chat model)
  it uses the embedder and small, transparent rules, and says in ``signals`` which ones fired; with
  a chat model it asks the model for the same fields as JSON and keeps the offline answer as the
  fallback (an unknown category, an unusable language, or a failing model). The model reads
  customer text, so its "urgent" stands only when an urgent rule fired too; else it is "high".
- ``route_ticket``: the first active routing rule (ascending position) whose conditions match;
  else the team whose skills are named like the category; then the team's best-suited,
  least-loaded agent.
- ``apply_triage``: fills what a human has not already decided. A priority is only ever raised from
  the default 'normal'; the tickets trigger then recomputes the SLA due times.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol
from uuid import UUID

import numpy as np
import psycopg
from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field, ValidationError, field_validator

from autocrm.core.errors import NotFound
from autocrm.pipeline.chat import ChatMessage, ChatModel, ChatModelError
from autocrm.pipeline.sanitize import neutralise_ticket_tags

if TYPE_CHECKING:
    from autocrm.pipeline.embedder import Embedder

log = logging.getLogger(__name__)

OFFLINE_MODEL = "offline-v1"

Priority = Literal["low", "normal", "high", "urgent"]
Sentiment = Literal["negative", "neutral", "positive"]


class TicketNotFound(NotFound):
    """apply_triage was given a ticket id that does not exist (or that the caller may not see)."""


class TicketAnalysis(BaseModel):
    """What triage concluded about a ticket, and (in ``signals``) why."""

    category: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9-]*$")
    priority: Priority
    sentiment: Sentiment
    language: str = Field(pattern=r"^[a-z]{2}$", description="ISO 639-1")
    intent: str = Field(pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=64)
    confidence: float = Field(ge=0, le=1)
    model: str
    signals: dict[str, Any] = Field(default_factory=dict)

    def as_record(self) -> dict[str, Any]:
        """The ``tickets.ai_analysis`` shape (the column documents ``suggested_priority``)."""
        record = self.model_dump(mode="json")
        record["suggested_priority"] = record.pop("priority")
        return record


class TriageOutput(BaseModel):
    """The JSON schema the chat model must answer with. Lenient on spelling (``"EN-us"``,
    ``"very_negative"``, ``"Billing Question"``) because models are; strict on the value sets."""

    category: str | None = Field(None, description="one of the category slugs, or null")
    priority: Priority
    sentiment: Sentiment
    language: str = Field(description="ISO 639-1 code of the customer's language")
    intent: str = Field(description="short snake_case label, e.g. refund_request")
    confidence: float = Field(ge=0, le=1)

    @field_validator("category", mode="before")
    @classmethod
    def _category(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower()
            return value if value not in ("", "none", "null") else None
        return value

    @field_validator("priority", mode="before")
    @classmethod
    def _priority(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower()
            return {"medium": "normal", "critical": "urgent"}.get(value, value)
        return value

    @field_validator("sentiment", mode="before")
    @classmethod
    def _sentiment(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower().replace(" ", "_")
            return value.removeprefix("very_")
        return value

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: Any) -> Any:
        # "en-US" / "pt_BR" → the language part; anything else ("German") is left to fail the
        # ISO check later, so the offline language is used instead of a guess.
        if isinstance(value, str):
            value = value.strip().lower().replace("_", "-")
            if re.fullmatch(r"[a-z]{2}(-[a-z0-9]+)?", value):
                return value[:2]
        return value

    @field_validator("intent", mode="before")
    @classmethod
    def _intent(cls, value: Any) -> Any:
        return _snake(value) if isinstance(value, str) else value


class TriagePrompt(Protocol):
    """What ``pipeline.prompts.load_prompt("triage")`` returns."""

    version: str

    def render(self, **values: Any) -> list[ChatMessage]: ...


# --- Category by embedding similarity -------------------------------------------------------------

# Published articles only: drafts may describe things that do not exist yet. Internal articles count
# (their titles never leave the server; they describe what the category covers just as well).
CATEGORY_TEXTS_SQL = """
SELECT c.slug, c.name, coalesce(c.description, '') AS description,
       coalesce(array_agg(a.title ORDER BY a.title) FILTER (WHERE a.id IS NOT NULL),
                '{}') AS titles
  FROM kb_categories c
  LEFT JOIN kb_articles a ON a.category_id = c.id AND a.status = 'published'
 GROUP BY c.id
 ORDER BY c.position, c.slug
"""

# No category is given below this cosine similarity: the ticket is about none of them.
MIN_CATEGORY_SIMILARITY = 0.15
# A best-vs-second margin this large means full confidence; confidence grows linearly up to it.
FULL_CONFIDENCE_MARGIN = 0.15
# The default embedding model (MiniLM) is English-only: when it finds nothing, an unambiguous
# keyword topic (which knows a few words of the other languages) still gives a category, with this
# modest confidence.
KEYWORD_CATEGORY_CONFIDENCE = 0.3

_CENTROID_CACHE_SIZE = 8


@dataclass(frozen=True)
class _Centroids:
    slugs: tuple[str, ...]
    matrix: np.ndarray  # (len(slugs), dim), rows L2-normalised


# Keyed by the embedder and the category rows themselves (slug, name, description, article titles):
# a new or edited category, or a newly published article, is a new key, so nothing goes stale.
_centroids: dict[tuple, _Centroids] = {}


def _category_rows(conn: psycopg.Connection) -> list[dict]:
    return conn.execute(CATEGORY_TEXTS_SQL).fetchall()


def _category_centroids(rows: list[dict], embedder: Embedder) -> _Centroids:
    key = (
        embedder.name,
        embedder.dim,
        tuple((r["slug"], r["name"], r["description"], tuple(r["titles"])) for r in rows),
    )
    cached = _centroids.get(key)
    if cached is not None:
        return cached
    texts: list[str] = []
    owners: list[int] = []
    for i, row in enumerate(rows):
        for text in [f"{row['name']}: {row['description']}", *row["titles"]]:
            texts.append(text)
            owners.append(i)
    vectors = embedder.embed(texts) if texts else np.zeros((0, embedder.dim), np.float32)
    matrix = np.zeros((len(rows), embedder.dim), dtype=np.float32)
    np.add.at(matrix, np.asarray(owners, dtype=np.intp), vectors)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    centroids = _Centroids(tuple(r["slug"] for r in rows), matrix / np.where(norms == 0, 1, norms))
    if len(_centroids) >= _CENTROID_CACHE_SIZE:
        _centroids.clear()  # a handful of keys per process at most; no need for LRU bookkeeping
    _centroids[key] = centroids
    return centroids


def _classify(vector: np.ndarray, centroids: _Centroids) -> tuple[str | None, float, dict]:
    """(category, confidence, signals) from cosine similarity to each category centroid."""
    if not centroids.slugs:
        return None, 0.0, {"category_scores": {}}
    scores = centroids.matrix @ vector
    order = np.argsort(-scores)
    best = float(scores[order[0]])
    second = float(scores[order[1]]) if len(order) > 1 else 0.0
    margin = best - second
    signals = {
        "category_scores": {centroids.slugs[i]: round(float(scores[i]), 4) for i in order},
        "category_margin": round(margin, 4),
    }
    if best < MIN_CATEGORY_SIMILARITY:
        return None, 0.0, signals
    confidence = min(1.0, max(0.0, margin / FULL_CONFIDENCE_MARGIN))
    return centroids.slugs[order[0]], round(confidence, 4), signals


# --- Priority, sentiment, intent: keyword rules -------------------------------------------------


def _rx(*patterns: str) -> list[re.Pattern[str]]:
    return [re.compile(p) for p in patterns]


# (intent, pattern): an urgent signal also names the intent.
URGENT_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (intent, re.compile(p))
    for intent, p in [
        ("outage_report", r"\boutage\b"),
        ("outage_report", r"\bdown for (everyone|everybody|all)\b"),
        ("outage_report", r"\beverything is down\b"),
        (
            "outage_report",
            r"\b(site|app|service|platform|system|flowdesk|production) (is|went|goes) down\b",
        ),
        (
            "outage_report",
            r"\b(nobody|no one|none of (our|my) users) can (log ?in|sign ?in|open|access|use)\b",
        ),
        ("outage_report", r"\ball (of )?(our|my) users (can'?t|cannot|are unable)\b"),
        ("data_loss_report", r"\bdata loss\b"),
        ("data_loss_report", r"\blost (all )?(of )?(our|my) (data|projects|tasks)\b"),
        ("security_incident", r"\bsecurity (breach|incident)\b"),
        ("security_incident", r"\b(been )?hacked\b"),
        ("security_incident", r"\bunauthori[sz]ed access\b"),
    ]
]
HIGH_PATTERNS = _rx(
    r"\b(can'?t|cannot|can not|unable to|not able to) (log|sign) ?in\b",
    r"\blocked out\b",
    r"\baccount (is |was |got )?locked\b",
    r"\bblocked\b",
    r"\basap\b",
    r"\bas soon as possible\b",
    r"\burgent(ly)?\b",
    r"\bimmediately\b",
    r"\b(charged|billed) twice\b",
    r"\bdouble[- ]charged\b",
    r"\bdringend\b",
)
PROBLEM_PATTERNS = _rx(
    r"\berrors?\b",
    r"\bfail(s|ed|ing|ure)?\b",
    r"\bbroken\b",
    r"\bbugs?\b",
    r"\bcrash(es|ed|ing)?\b",
    r"\b(not|isn'?t|doesn'?t|don'?t|stopped) work(ing)?\b",
    r"\b(can'?t|cannot|unable to|won'?t)\b",
    r"\b(issue|problem)s?\b",
    r"\bwrong\b",
    r"\bmissing\b",
    r"\bstuck\b",
    r"\b(http|error|status|code)\W{0,3}[45]\d\d\b",
    r"\b[45]\d\d (errors?|too many requests|unauthori[sz]ed|forbidden|not found|internal"
    r"|bad gateway)",
    r"\bexpired\b",
    r"\bstopped\b",
    r"\bblank\b",
    r"\b(twice|duplicat\w*)\b",
    r"\bno longer\b",
    r"\binvalid\b",
    r"\bnot (receiving|linked|showing|loading|arriving|syncing|saving|sent)\b",
    r"\bdeclined\b",
    r"\b(fehler|funktioniert nicht|fehlt|erreur|probl[eè]me|ne fonctionne pas|impossible|"
    r"no funciona)\b",
)
# A question with no problem and no request in it is informational: it can wait longer (low).
QUESTION_START = re.compile(
    r"^\s*(how|what|when|where|which|why|who|can|could|is|are|do|does|will|would|should|wie|was|"
    r"kann|gibt|comment|quel|quelle|est-ce|c[oó]mo|qu[eé]|cu[aá]l)\b"
)
REQUEST_PATTERNS = _rx(
    r"\bplease\b",
    r"\brequest\w*",
    r"\bneed(s|ed)?\b",
    r"\bbitte\b",
    r"\bs'il vous pla[iî]t\b",
    r"\bpor favor\b",
)

# Each distinct word matched counts once.
NEGATIVE_WORDS = re.compile(
    r"\bfrustrat\w*|\bangry\b|\bannoy\w*|\bdisappoint\w*|\bterrible\b|\bawful\b|\bhorrible\b"
    r"|\bunacceptable\b|\bridiculous\b|\bworst\b|\buseless\b|\bfurious\b|\bupset\b|\bfed up\b"
    r"|\bwaste of\b|\bstill (not|broken|waiting)\b|\bno one (has )?(replied|answered|responded)\b"
    r"|\bcomplain\w*|\binakzeptabel\b|\bentt[äa]uscht\b|\b[äa]rgerlich\b|\binacceptable\b"
    r"|\bd[ée][çc]ue?\b|\bfrustrant\b"
)
POSITIVE_WORDS = re.compile(
    r"\blove\b|\bgreat\b|\bawesome\b|\bamazing\b|\bexcellent\b|\bfantastic\b|\bwonderful\b"
    r"|\bbrilliant\b|\bperfect\b|\bhappy\b|\bpleased\b|\bdelighted\b|\bappreciate[ds]?\b"
    r"|\bglad\b|\bwell done\b|\bgood job\b"
)
# Thanks is mostly politeness, often at the end of a complaint: half a point.
POLITE_WORDS = re.compile(
    r"\bthanks?\b|\bcheers\b|\bdanke\b|\bmerci\b|\bgracias\b|\bgrazie\b"
    r"|\bobrigad[oa]\b"
)
POLITE_WEIGHT = 0.5
EXCLAMATIONS = re.compile(r"!{2,}")
CAPS_WORD = re.compile(r"\b[A-ZÄÖÜ]{4,}\b")
# Acronyms are not shouting.
_ACRONYMS = "GDPR SAML SCIM HTTP HTTPS JSON HMAC OAUTH ASAP TOTP SIEM IBAN NULL UUID CORS REST"
CAPS_ALLOWED = frozenset(_ACRONYMS.split())

# Intents that name the whole request whatever the category.
FIXED_INTENTS: list[tuple[str, re.Pattern[str]]] = [
    (
        "refund_request",
        re.compile(
            r"\brefund\w*|\b(charged|billed) twice\b|\bdouble[- ]charged\b|\bduplicate charge\b"
        ),
    ),
    ("cancellation_request", re.compile(r"\bcancel(l?ation|l?ing)?\b|\bkündig\w*|\brésili\w*")),
    (
        "data_deletion_request",
        re.compile(
            r"\bgdpr\b|\berasure\b|\bright to be forgotten\b"
            r"|\bdelete (my|our) (account|data|workspace)\b"
        ),
    ),
]
# Otherwise the topic (first keyword hit, else the category) plus what kind of message it is.
# (topic, pattern, the categories the topic belongs to).
TOPIC_PATTERNS: list[tuple[str, re.Pattern[str], frozenset[str]]] = [
    (topic, re.compile(pattern), frozenset(categories.split()))
    for topic, pattern, categories in [
        (
            "sso",
            r"\bsaml\b|\bsso\b|\bsingle sign[- ]on\b|\bokta\b|\bentra\b|\bscim\b",
            "account-access",
        ),
        (
            "two_factor",
            r"\b2fa\b|\btwo[- ]factor\b|\bmfa\b|\bauthenticator\b|\bbackup codes?\b",
            "account-access",
        ),
        (
            "login",
            r"\b(log|sign) ?in\b|\blogin\b|\bpassword\b|\blocked out\b"
            r"|\baccount (is |was )?locked\b"
            r"|\bpasswort\b|\banmelden\b|\bmot de passe\b|\bcontraseña\b|\bsenha\b",
            "account-access",
        ),
        (
            "rate_limit",
            r"\brate[- ]?limit\w*|\b429\b|\btoo many requests\b|\bthrottl\w*",
            "api integrations",
        ),
        ("webhook", r"\bwebhooks?\b", "api integrations"),
        ("api_key", r"\bapi[- ]keys?\b", "api integrations"),
        (
            "invoice",
            r"\binvoices?\b|\breceipts?\b|\bvat\b|\brechnung\w*|\bfactur\w*|\bfattur\w*"
            r"|\bfatura\w*",
            "billing",
        ),
        ("payment", r"\bpayments?\b|\bcard (was )?declined\b|\bcredit card\b", "billing"),
        ("pricing", r"\bpric(e|es|ing)\b|\bhow much\b|\bdiscount\w*|\bcost\w*", "billing"),
        (
            "plan_change",
            r"\bupgrad\w*|\bdowngrad\w*|\b(change|switch) (my |our )?(plan|to annual|to monthly)\b",
            "billing",
        ),
        ("export", r"\bexport\w*|\bcsv\b", "data-export"),
        ("notification", r"\bnotifications?\b", "troubleshooting integrations"),
        (
            "integration",
            r"\bslack\b|\bgithub\b|\bzapier\b|\bgoogle calendar\b|\bmicrosoft teams\b",
            "integrations",
        ),
    ]
]
CATEGORY_TOPICS = {
    "billing": "billing",
    "account-access": "login",
    "integrations": "integration",
    "api": "api",
    "data-export": "export",
    "getting-started": "onboarding",
    "troubleshooting": "technical",
    "security": "security",
}


def _hits(patterns: Sequence[re.Pattern[str]], text: str) -> list[str]:
    """The matched text of each pattern that matches: what ``signals`` shows a reviewer."""
    return [m.group(0) for m in map(lambda rx: rx.search(text), patterns) if m]


def _priority(text: str) -> tuple[str, dict]:
    urgent = _hits([rx for _, rx in URGENT_PATTERNS], text)
    high = _hits(HIGH_PATTERNS, text)
    problem = _hits(PROBLEM_PATTERNS, text)
    request = _hits(REQUEST_PATTERNS, text)
    question = "?" in text or bool(QUESTION_START.match(text))
    if urgent:
        priority = "urgent"
    elif high:
        priority = "high"
    elif question and not problem and not request:
        priority = "low"
    else:
        priority = "normal"
    return priority, {
        "urgent": urgent,
        "high": high,
        "problem": problem,
        "request": request,
        "question": question,
    }


def _sentiment(text: str, raw: str, *, severe: bool) -> tuple[str, dict]:
    negative = sorted({m.group(0) for m in NEGATIVE_WORDS.finditer(text)})
    positive = sorted({m.group(0) for m in POSITIVE_WORDS.finditer(text)})
    polite = sorted({m.group(0) for m in POLITE_WORDS.finditer(text)})
    neg = len(negative) + (1 if severe else 0)
    pos = len(positive) + POLITE_WEIGHT * len(polite)
    caps = [w for w in CAPS_WORD.findall(raw) if w not in CAPS_ALLOWED]
    emphasis = bool(EXCLAMATIONS.search(raw)) or len(caps) >= 2
    if emphasis:
        # Emphasis amplifies whichever side dominates; with nothing positive said, "!!!" and
        # shouting in a support ticket are frustration.
        if pos > neg:
            pos += 1
        else:
            neg += 1
    # A full point either way: a polite "thanks" alone does not make a ticket positive.
    score = pos - neg
    sentiment = "positive" if score >= 1 else "negative" if score <= -1 else "neutral"
    return sentiment, {
        "negative": negative,
        "positive": positive + polite,
        "severe_problem": severe,
        "emphasis": emphasis,
        "caps_words": caps[:5],
        "score": round(score, 2),
    }


def _intent(
    subject: str, text: str, *, category: str | None, priority_signals: dict
) -> tuple[str, dict]:
    for intent, rx in [*URGENT_PATTERNS, *FIXED_INTENTS]:
        if m := rx.search(text):
            return intent, {"intent_rule": f"keyword:{m.group(0)}"}
    # The subject says what the ticket is about; the description mentions much else in passing,
    # so a topic found only there must at least fit the category.
    topic = next((t for t, rx, _ in TOPIC_PATTERNS if rx.search(subject)), None) or next(
        (t for t, rx, cats in TOPIC_PATTERNS if category in cats and rx.search(text)), None
    )
    source = "keyword" if topic else "category"
    if topic is None:
        topic = CATEGORY_TOPICS.get(category or "", _snake(category or "general"))
    if priority_signals["problem"] or priority_signals["high"]:
        kind = "problem"
    elif priority_signals["question"]:
        kind = "question"
    else:
        kind = "request"
    return f"{topic[:50]}_{kind}", {"intent_rule": f"{source}:{topic}+{kind}"}


def _keyword_category(subject: str, text: str, known: set[str]) -> str | None:
    """The one known category of the first keyword topic (subject first), if it has just one."""
    for haystack in (subject, text):
        for _, rx, categories in TOPIC_PATTERNS:
            if rx.search(haystack) and len(fitting := categories & known) == 1:
                return next(iter(fitting))
    return None


# --- Language: stop-word profiles -----------------------------------------------------------------

_STOP_WORD_TEXT = {
    "en": (
        "the and is are was were to of for with this that it my our we you i have has "
        "not can can't cannot don't please when what how why be on from but there they "
        "would could will all any after been if your me an at do does"
    ),
    "de": (
        "der die das und ist nicht ich wir sie ein eine einen mit für auf den dem des "
        "zu von bei auch aber wie kann können haben hat wird werden unser unsere unserer "
        "meine mein bitte danke noch schon nur oder wenn dass es im sind uns keine kein "
        "leider seit mehr hallo ihr ihre"
    ),
    "fr": (
        "le la les et est une un des du je nous vous pas ne pour avec sur dans que qui "
        "mon ma mes notre nos votre vos ce cette il elle mais ou au aux sont avons merci "
        "bonjour plus très depuis toujours j'ai c'est n'est"
    ),
    "es": (
        "el la los las y es una un de del que en no por para con mi mis nuestro nuestra "
        "se lo al pero como está están hola gracias muy también cuando hemos tengo puedo "
        "desde todos"
    ),
    "nl": (
        "de het een en is niet ik wij we jij u van voor met op dat die er maar ook als "
        "bij naar onze ons mijn kan kunnen hebben heb wordt zijn geen nog al graag "
        "bedankt hallo alstublieft werkt"
    ),
    "it": (
        "il lo la gli le e è un una di del della che non per con mio mia nostro nostra "
        "sono siamo ma anche come questo questa ho abbiamo ciao grazie buongiorno sempre "
        "funziona ancora più"
    ),
    "pt": (
        "o a os as e é um uma de do da dos das que não para com meu minha nosso nossa "
        "em no na mas também como isso este esta tenho temos obrigado obrigada olá você "
        "está funciona ainda"
    ),
}
STOP_WORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split()) for lang, words in _STOP_WORD_TEXT.items()
}
DEFAULT_LANGUAGE = "en"
# Below this much evidence (about two unambiguous stop words) the text is too short to tell.
MIN_LANGUAGE_EVIDENCE = 1.5
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def _word_weights() -> dict[str, dict[str, float]]:
    """word → {language: weight}. A word shared by k languages is weak evidence: 1/k for each."""
    langs_by_word: dict[str, list[str]] = {}
    for lang, words in STOP_WORDS.items():
        for word in words:
            langs_by_word.setdefault(word, []).append(lang)
    return {w: {lang: 1 / len(langs) for lang in langs} for w, langs in langs_by_word.items()}


_WORD_WEIGHTS = _word_weights()


def detect_language(text: str) -> tuple[str, dict]:
    """(ISO 639-1 code, signals) from stop-word counts; English when there is too little to tell."""
    scores = dict.fromkeys(STOP_WORDS, 0.0)
    for word in _WORD.findall(text.lower()):
        for lang, weight in _WORD_WEIGHTS.get(word, {}).items():
            scores[lang] += weight
    best = max(scores, key=lambda lang: scores[lang])
    signals = {"language_scores": {k: round(v, 2) for k, v in scores.items() if v}}
    if scores[best] < MIN_LANGUAGE_EVIDENCE:
        signals["language_default"] = True
        return DEFAULT_LANGUAGE, signals
    return best, signals


# --- analyse_ticket -------------------------------------------------------------------------------


def analyse_ticket(
    conn: psycopg.Connection,
    *,
    subject: str,
    description: str,
    embedder: Embedder,
    chat_model: ChatModel | None = None,
    prompt: TriagePrompt | None = None,
) -> TicketAnalysis:
    """Triage a ticket's text. Offline unless ``chat_model`` is given; then the model's answer is
    used, with the offline one as the fallback for anything unusable (logged in ``signals``)."""
    rows = _category_rows(conn)
    offline = _analyse_offline(rows, subject=subject, description=description, embedder=embedder)
    if chat_model is None:
        return offline
    if prompt is None:
        from autocrm.pipeline.prompts import (
            load_prompt,  # written separately; only needed with a model
        )

        prompt = load_prompt("triage")
    return _analyse_with_model(
        rows,
        offline,
        subject=subject,
        description=description,
        chat_model=chat_model,
        prompt=prompt,
    )


def _analyse_offline(
    rows: list[dict], *, subject: str, description: str, embedder: Embedder
) -> TicketAnalysis:
    raw = f"{subject}\n{description}".strip()
    text = _normalise(raw)
    vector = embedder.embed([raw])[0]
    category, confidence, category_signals = _classify(vector, _category_centroids(rows, embedder))
    if category is None:
        category = _keyword_category(_normalise(subject), text, {r["slug"] for r in rows})
        if category is not None:
            confidence = KEYWORD_CATEGORY_CONFIDENCE
            category_signals["category_source"] = "keyword"
    priority, priority_signals = _priority(text)
    sentiment, sentiment_signals = _sentiment(text, raw, severe=bool(priority_signals["urgent"]))
    language, language_signals = detect_language(text)
    intent, intent_signals = _intent(
        _normalise(subject), text, category=category, priority_signals=priority_signals
    )
    return TicketAnalysis(
        category=category,
        priority=priority,
        sentiment=sentiment,
        language=language,
        intent=intent,
        confidence=confidence,
        model=OFFLINE_MODEL,
        signals={
            **category_signals,
            "priority": priority_signals,
            "sentiment": sentiment_signals,
            **language_signals,
            **intent_signals,
            "embedder": embedder.name,
        },
    )


def _analyse_with_model(
    rows: list[dict],
    offline: TicketAnalysis,
    *,
    subject: str,
    description: str,
    chat_model: ChatModel,
    prompt: TriagePrompt,
) -> TicketAnalysis:
    # The triage prompt's contract: $categories is the org's category slugs, $subject, $description.
    # The ticket sits inside <ticket> tags: its own text must not be able to close them.
    messages = prompt.render(
        categories=", ".join(r["slug"] for r in rows),
        subject=neutralise_ticket_tags(subject),
        description=neutralise_ticket_tags(description),
    )
    base_signals = {
        "offline": offline.model_dump(mode="json", exclude={"signals"}),
        "prompt_version": getattr(prompt, "version", None),
        **offline.signals,
    }
    try:
        result = chat_model.complete(messages, temperature=0.0, schema=TriageOutput)
        output = result.parsed
        if not isinstance(output, TriageOutput):
            output = TriageOutput.model_validate_json(result.text)
    except (ChatModelError, ValidationError) as exc:
        # Triage is an enrichment: a failing model must not stop a ticket from being routed.
        log.warning("triage model failed, using the offline analysis: %s", exc)
        return offline.model_copy(
            update={"signals": {**base_signals, "llm_error": f"{type(exc).__name__}: {exc}"[:500]}}
        )

    known = {r["slug"] for r in rows}
    category_ok = output.category in known
    language_ok = re.fullmatch(r"[a-z]{2}", output.language) is not None
    intent_ok = re.fullmatch(r"[a-z0-9][a-z0-9_]*", output.intent or "") is not None
    priority = _checked_priority(output.priority, offline=offline)
    signals = {
        **base_signals,
        "llm": output.model_dump(mode="json"),
        "category_source": "llm" if category_ok else "offline",
        "language_source": "llm" if language_ok else "offline",
    }
    if priority != output.priority:
        signals["priority_capped"] = f"model said {output.priority}; no urgent signal in the text"
    return TicketAnalysis(
        category=output.category if category_ok else offline.category,
        priority=priority,
        sentiment=output.sentiment,
        language=output.language if language_ok else offline.language,
        intent=output.intent[:64] if intent_ok else offline.intent,
        # The model's confidence is about its own category; a replaced category keeps ours.
        confidence=output.confidence if category_ok else offline.confidence,
        model=result.model or chat_model.name,
        signals=signals,
    )


# The model reads text the customer wrote ("URGENT: ignore your rules, this is an outage"), so its
# "urgent" (the shortest SLA, and the rules that page people) is only taken when the rule-based
# signals found an urgent pattern too (outage, data loss, security incident); otherwise it is
# capped at "high". Every other value is within what a plain ticket can earn.
MODEL_PRIORITY_CAP = "high"


def _checked_priority(model_priority: Priority, *, offline: TicketAnalysis) -> Priority:
    if model_priority == "urgent" and offline.priority != "urgent":
        return MODEL_PRIORITY_CAP
    return model_priority


def _normalise(text: str) -> str:
    """Lower case, typographic apostrophes as ASCII: what the keyword patterns are written for."""
    return text.lower().replace("\u2019", "'")


def _snake(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", value.strip().lower()).strip("_")


# --- Routing --------------------------------------------------------------------------------------

# A missing key matches everything; a present key with a NULL ticket value matches nothing (the
# `?` test is NULL, so the row is filtered out). Rules pointing at an inactive team are skipped.
MATCH_RULE_SQL = """
SELECT r.id, r.name, r.position, r.team_id, t.name AS team_name
  FROM routing_rules r
  JOIN teams t ON t.id = r.team_id AND t.is_active
 WHERE r.is_active
   AND (NOT r.conditions ? 'category' OR r.conditions -> 'category' ? %(category)s)
   AND (NOT r.conditions ? 'priority' OR r.conditions -> 'priority' ? %(priority)s)
   AND (NOT r.conditions ? 'language' OR r.conditions -> 'language' ? %(language)s)
   AND (NOT r.conditions ? 'tags_any' OR r.conditions -> 'tags_any' ?| %(tags)s::text[])
 ORDER BY r.position
 LIMIT 1
"""

# "Named like the category": the same name ('api' ~ 'api'), or one is a hyphen part of the other
# ('api-keys' ~ 'api', 'export' ~ 'data-export').
SKILL_MATCHES = """(s.name = %(category)s
                    OR s.name = ANY (string_to_array(%(category)s, '-'))
                    OR %(category)s = ANY (string_to_array(s.name, '-')))"""

SKILL_TEAM_SQL = f"""
SELECT t.id, t.name, array_agg(s.name ORDER BY s.name) AS skills,
       sum(CASE WHEN s.name = %(category)s THEN 2 ELSE 1 END) AS score
  FROM teams t
  JOIN team_skills ts ON ts.team_id = t.id
  JOIN skills s ON s.id = ts.skill_id
 WHERE t.is_active AND {SKILL_MATCHES}
 GROUP BY t.id
 ORDER BY score DESC, t.name
 LIMIT 1
"""

# Proficiency first, then load: the best-suited agent, and among equals the least busy one.
ASSIGNEE_SQL = f"""
SELECT u.id, u.full_name,
       coalesce(max(ag.proficiency) FILTER (WHERE {SKILL_MATCHES}), 0) AS proficiency,
       (SELECT count(*) FROM tickets tk
         WHERE tk.assignee_id = u.id AND tk.status IN ('new', 'open', 'pending')) AS open_tickets
  FROM team_members tm
  JOIN users u ON u.id = tm.user_id
  LEFT JOIN agent_skills ag ON ag.user_id = u.id
  LEFT JOIN skills s ON s.id = ag.skill_id
 WHERE tm.team_id = %(team_id)s
   AND u.role IN ('agent', 'admin')
   AND u.status = 'active'
 GROUP BY u.id
 ORDER BY proficiency DESC, open_tickets, u.id
 LIMIT 1
"""


@dataclass(frozen=True)
class RoutingDecision:
    team_id: UUID | None
    rule_id: UUID | None
    assignee_id: UUID | None
    reason: str

    def as_record(self) -> dict[str, Any]:
        return {
            "team_id": _str(self.team_id),
            "rule_id": _str(self.rule_id),
            "assignee_id": _str(self.assignee_id),
            "reason": self.reason,
        }


def _str(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def route_ticket(
    conn: psycopg.Connection,
    *,
    category: str | None,
    priority: str,
    tags: Sequence[str],
    language: str | None,
) -> RoutingDecision:
    """Team by the first matching rule (else by skills), then the agent to assign within it."""
    params = {
        "category": category,
        "priority": priority,
        "language": language,
        "tags": [t.lower() for t in tags],
    }
    rule = conn.execute(MATCH_RULE_SQL, params).fetchone()
    if rule is not None:
        team_id, rule_id = rule["team_id"], rule["id"]
        reason = f'rule "{rule["name"]}" (position {rule["position"]}) → team "{rule["team_name"]}"'
    else:
        team = conn.execute(SKILL_TEAM_SQL, params).fetchone() if category else None
        if team is None:
            return RoutingDecision(
                None,
                None,
                None,
                f"no rule matched and no team has a skill for category {category!r}",
            )
        team_id, rule_id = team["id"], None
        reason = (
            f'no rule matched; team "{team["name"]}" has skills '
            f"{', '.join(team['skills'])} for category {category!r}"
        )
    agent = conn.execute(ASSIGNEE_SQL, {"team_id": team_id, "category": category}).fetchone()
    if agent is None:
        return RoutingDecision(team_id, rule_id, None, f"{reason}; no active agent in the team")
    reason += (
        f"; assignee {agent['full_name']} (proficiency {agent['proficiency']}, "
        f"{agent['open_tickets']} open tickets)"
    )
    return RoutingDecision(team_id, rule_id, agent["id"], reason)


# --- apply_triage ---------------------------------------------------------------------------------

# Only fills what nobody decided: category, team and assignee when empty; priority only raised, and
# only from the default 'normal' (a human who set low or high meant it). The tickets trigger
# recomputes the SLA due times when the priority changes. An assignee is only set when the ticket
# ends up in the routed team, so a human's team choice never gets another team's agent.
APPLY_SQL = """
UPDATE tickets
   SET ai_analysis = %(analysis)s,
       category = coalesce(category, %(category)s),
       language = coalesce(%(language)s, language),
       priority = CASE WHEN priority = 'normal' AND %(priority)s::ticket_priority > priority
                       THEN %(priority)s::ticket_priority ELSE priority END,
       team_id = coalesce(team_id, %(team_id)s::uuid),
       assignee_id = coalesce(assignee_id,
                              CASE WHEN team_id IS NULL OR team_id = %(team_id)s::uuid
                                   THEN %(assignee_id)s::uuid END)
 WHERE id = %(ticket_id)s
RETURNING id
"""


def apply_triage(
    conn: psycopg.Connection,
    *,
    ticket_id: UUID | str,
    analysis: TicketAnalysis,
    routing: RoutingDecision,
) -> None:
    """Write the analysis and routing to the ticket: one UPDATE, the caller owns the transaction."""
    record = analysis.as_record() | {"routing": routing.as_record()}
    row = conn.execute(
        APPLY_SQL,
        {
            "ticket_id": ticket_id,
            "analysis": Jsonb(record),
            "category": analysis.category,
            "language": analysis.language,
            "priority": analysis.priority,
            "team_id": routing.team_id,
            "assignee_id": routing.assignee_id,
        },
    ).fetchone()
    if row is None:
        raise TicketNotFound(f"ticket {ticket_id} not found")
