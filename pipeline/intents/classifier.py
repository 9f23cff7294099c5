"""Hand-off intents of a customer message, by a classifier rather than word lists.

Features: the MiniLM sentence vector of the text, next to TF-IDF over character n-grams (robust to
typos, word forms and the few words of German, Spanish or French that the English-only MiniLM reads
poorly) and over words and word pairs ("human resources" is not "a human"). Two heads, each one
multinomial logistic regression over the four intents and ``none``: ``embedding`` (vector and
TF-IDF) and ``text`` (TF-IDF alone). A text with a vector is scored by the mean of the two heads'
probabilities (steadier than either, in cross-validation: MiniLM misreads the other languages, the
n-grams miss paraphrases); a text without one (the sentences of a long message when no embedder
is at hand, or a vector from another embedder) by the text head alone.

A request buried in a long ticket is diluted in the whole-message vector: the message and each of
its sentences are scored, and each intent keeps its best score. Each intent has three thresholds,
chosen on the training split by cross-validation (scripts/train_handoff_intents.py): for a text
read with its vector, for a whole message read without one, and for a sentence read without one
(high: there the text head only adds what the whole-message reading misses). A score is the
probability re-centred on its threshold, so 0.5 or more always means "this intent is present".
See docs/handoff-policy.md.
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from autocrm.pipeline.embedder import Embedder

MODEL_PATH = Path(__file__).with_name("handoff_model.json")
DATA_PATH = Path(__file__).with_name("handoff_intents.jsonl")

HUMAN_REQUESTED = "human_requested"
REFUND_CANCELLATION = "refund_cancellation"
LEGAL_PRIVACY = "legal_privacy"
THREAT_COMPLAINT = "threat_complaint"
NONE = "none"
INTENTS = (HUMAN_REQUESTED, REFUND_CANCELLATION, LEGAL_PRIVACY, THREAT_COMPLAINT)
CLASSES = (*INTENTS, NONE)

CHAR_NGRAMS = (2, 5)
# A ticket is scored sentence by sentence; past this many sentences the rest is scored as one piece
# (bounds the work on a pasted log or e-mail thread).
MAX_SEGMENTS = 40

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\s*\n+\s*")
_SPACES = re.compile(r"\s+")
_WORDS = re.compile(r"\w+")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u201c": '"', "\u201d": '"'})


@dataclass(frozen=True)
class IntentResult:
    """``intent``: the hand-off intent with the highest score of those at or over 0.5, else None.
    ``scores``: each intent's best score over the message and its sentences (0.5 = threshold).
    ``evidence``: the text (whole message or one sentence) that gave ``intent`` its score.
    ``detected``: every intent at or over 0.5, best first (a message may ask for a refund AND a
    person)."""

    intent: str | None
    scores: dict[str, float] = field(default_factory=dict)
    evidence: str | None = None
    detected: tuple[str, ...] = ()


def normalise(text: str) -> str:
    """Lower case, no accents, one kind of apostrophe, single spaces."""
    text = unicodedata.normalize("NFKD", text.translate(_QUOTES).lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _SPACES.sub(" ", text).strip()


def char_ngrams(text: str) -> list[str]:
    """Character n-grams inside word boundaries, as scikit-learn's ``char_wb`` analyzer makes them
    (training hands this very function to its TfidfVectorizer)."""
    low, high = CHAR_NGRAMS
    grams: list[str] = []
    for word in normalise(text).split():
        padded = f" {word} "
        for n in range(low, high + 1):
            if len(padded) < n:
                break
            grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


def word_ngrams(text: str) -> list[str]:
    """Words and pairs of adjacent words."""
    words = _WORDS.findall(normalise(text))
    return [*words, *(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))]


def segments(text: str) -> list[str]:
    """The whole message first, then its sentences when it has more than one."""
    whole = _SPACES.sub(" ", text).strip()
    parts = [p.strip() for p in _SENTENCE_END.split(text) if p and p.strip()]
    if len(parts) <= 1:
        return [whole]
    if len(parts) > MAX_SEGMENTS:
        parts = [*parts[: MAX_SEGMENTS - 1], " ".join(parts[MAX_SEGMENTS - 1 :])]
    return [whole, *parts]


@dataclass(frozen=True)
class Tfidf:
    """scikit-learn's TfidfVectorizer(sublinear_tf=True) with a fitted vocabulary: (1 + log tf) x
    idf, rows L2-normalised."""

    analyzer: Callable[[str], list[str]]
    vocabulary: dict[str, int]
    idf: np.ndarray

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(self.idf)), dtype=np.float32)
        for row, text in enumerate(texts):
            counts = Counter(g for g in self.analyzer(text) if g in self.vocabulary)
            for gram, count in counts.items():
                col = self.vocabulary[gram]
                out[row, col] = (1 + math.log(count)) * self.idf[col]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


@dataclass(frozen=True)
class Head:
    coef: np.ndarray  # (len(CLASSES), [embedding dim +] TF-IDF columns)
    intercept: np.ndarray  # (len(CLASSES),)
    embedding_weight: float | None  # None: the text-only head

    def probabilities(self, tfidf: np.ndarray, vectors: np.ndarray | None) -> np.ndarray:
        """(rows, len(INTENTS)): softmax over CLASSES, the intents' columns."""
        x = tfidf if vectors is None else np.hstack([self.embedding_weight * vectors, tfidf])
        z = x @ self.coef.T + self.intercept
        p = np.exp(z - z.max(axis=1, keepdims=True))
        return (p / p.sum(axis=1, keepdims=True))[:, : len(INTENTS)]


def recentre(p: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Probabilities → scores with each intent's threshold at 0.5 (a shift in logit space)."""
    p = np.clip(p, 1e-9, 1 - 1e-9)
    t = np.clip(thresholds, 1e-9, 1 - 1e-9)
    return 1 / (1 + np.exp(-(np.log(p / (1 - p)) - np.log(t / (1 - t)))))


@dataclass(frozen=True)
class IntentModel:
    char: Tfidf
    word: Tfidf
    word_weight: float
    embedding: Head
    text: Head
    # (len(INTENTS),) each: "vector" (a segment with its vector: mean of both heads), "text" (the
    # whole message without one: text head), "sentence" (a sentence without one: text head)
    thresholds: dict[str, np.ndarray]
    embedder_name: str
    dim: int

    def tfidf(self, texts: Sequence[str]) -> np.ndarray:
        return np.hstack(
            [self.char.transform(texts), self.word_weight * self.word.transform(texts)]
        )

    def accepts(self, vector: np.ndarray | None) -> bool:
        return vector is not None and np.shape(vector)[-1] == self.dim

    def score_segments(
        self, texts: Sequence[str], vectors: Sequence[np.ndarray | None]
    ) -> np.ndarray:
        """(len(texts), len(INTENTS)) scores, 0.5 = threshold. ``texts``: ``segments()`` of one
        message (the whole message first); ``vectors``: one per text, or None."""
        tfidf = self.tfidf(texts)
        text_p = self.text.probabilities(tfidf, None)
        # Sentences read by the text head have thresholds of their own, chosen to add only what the
        # whole-message reading misses (training.choose_sentence_threshold).
        out = recentre(text_p, self.thresholds["sentence"])
        out[:1] = recentre(text_p[:1], self.thresholds["text"])
        rows = [i for i, v in enumerate(vectors) if v is not None]
        if rows:
            stacked = np.vstack([np.asarray(vectors[i], dtype=np.float32) for i in rows])
            mean = (self.embedding.probabilities(tfidf[rows], stacked) + text_p[rows]) / 2
            out[rows] = recentre(mean, self.thresholds["vector"])
        return out


def model_from_json(raw: dict) -> IntentModel:
    if tuple(raw["classes"]) != CLASSES:
        raise ValueError(f"hand-off model classes {raw['classes']} are not {CLASSES}")

    def tfidf(part: dict, analyzer: Callable[[str], list[str]]) -> Tfidf:
        vocabulary = {gram: i for i, gram in enumerate(part["vocabulary"])}
        return Tfidf(analyzer, vocabulary, np.asarray(part["idf"], dtype=np.float32))

    def head(part: dict) -> Head:
        return Head(
            coef=np.asarray(part["coef"], dtype=np.float32),
            intercept=np.asarray(part["intercept"], dtype=np.float32),
            embedding_weight=part["embedding_weight"],
        )

    return IntentModel(
        char=tfidf(raw["tfidf"]["char"], char_ngrams),
        word=tfidf(raw["tfidf"]["word"], word_ngrams),
        word_weight=float(raw["tfidf"]["word"]["weight"]),
        embedding=head(raw["heads"]["embedding"]),
        text=head(raw["heads"]["text"]),
        thresholds={k: np.asarray(v, dtype=np.float64) for k, v in raw["thresholds"].items()},
        embedder_name=raw["embedder"]["name"],
        dim=int(raw["embedder"]["dim"]),
    )


@functools.cache
def load_model(path: Path = MODEL_PATH) -> IntentModel:
    """The fitted parameters (plain JSON, no pickle), read once per process and path."""
    return model_from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def classify_request(
    text: str,
    *,
    vector: np.ndarray | None = None,
    vector_model: str | None = None,
    embedder: Embedder | None = None,
    model: IntentModel | None = None,
) -> IntentResult:
    """The hand-off intent of a customer message, if any.

    ``vector``: the message's unit MiniLM embedding when the caller already has it (the pipeline
    embeds the latest customer message anyway). ``embedder``: also embeds the sentences of a long
    message (one batch); without it they are scored by the text head alone. An embedder or a
    vector that is not the model's own (another name or dimension) is ignored, not misread;
    ``vector_model`` names the embedder the vector came from, when the caller knows it.
    """
    model = model or load_model()
    parts = segments(text)
    vectors: list[np.ndarray | None] = [None] * len(parts)
    if model.accepts(vector) and vector_model in (None, model.embedder_name):
        vectors[0] = np.asarray(vector, dtype=np.float32).reshape(-1)
    if embedder is not None and embedder.name == model.embedder_name and embedder.dim == model.dim:
        missing = [i for i, v in enumerate(vectors) if v is None]
        if missing:
            embedded = embedder.embed([parts[i] for i in missing])
            for i, row in zip(missing, embedded, strict=True):
                vectors[i] = row
    scores = model.score_segments(parts, vectors)
    best_row = scores.argmax(axis=0)
    best = scores[best_row, np.arange(len(INTENTS))]
    rounded = {name: round(float(best[k]), 4) for k, name in enumerate(INTENTS)}
    detected = tuple(INTENTS[k] for k in np.argsort(-best) if best[k] >= 0.5)
    if not detected:
        return IntentResult(intent=None, scores=rounded)
    top = INTENTS.index(detected[0])
    return IntentResult(
        intent=detected[0], scores=rounded, evidence=parts[best_row[top]], detected=detected
    )
