"""Fit, tune and evaluate the hand-off intent classifier (``scripts/train_handoff_intents.py``).

Only the TRAIN split is used to fit and to choose thresholds (grouped, stratified 5-fold
cross-validation: out-of-fold scores, each the maximum over the message and its sentences exactly as
``classify_request`` scores); the TEST split is only ever scored by the shipped model, through
``classify_request`` itself. Paraphrases of one template share a ``group`` and one split.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold

from autocrm.pipeline.embedder import Embedder
from autocrm.pipeline.intents.classifier import (
    CHAR_NGRAMS,
    CLASSES,
    DATA_PATH,
    HUMAN_REQUESTED,
    INTENTS,
    LEGAL_PRIVACY,
    NONE,
    REFUND_CANCELLATION,
    THREAT_COMPLAINT,
    char_ngrams,
    classify_request,
    model_from_json,
    recentre,
    segments,
    word_ngrams,
)
from autocrm.pipeline.intents.evaluation import CachedEmbedder, Report, outcome, pick, tables

# Out-of-fold recall each threshold must reach on TRAIN. For the two intents where a miss is costly
# (a customer who asked for a person; a legal deadline) the issue asks recall >= 0.98 on the
# held-back split, i.e. at most one miss in its ~55 messages of each: every training message of
# them must be caught out-of-fold (0.99 left one miss and, by binomial chance alone, about a 30%
# risk of two on the held-back split). Refunds and cancellations next (money); threats and
# complaints trade a little recall for precision (an angry bug report is not a complaint).
TARGET_RECALL = {
    HUMAN_REQUESTED: 1.0,
    LEGAL_PRIVACY: 1.0,
    REFUND_CANCELLATION: 0.95,
    THREAT_COMPLAINT: 0.90,
}
SEED = 14
TEST_FRACTION = 0.3
FOLDS = 5


@dataclass(frozen=True)
class Params:
    """Chosen by the grouped cross-validation on TRAIN (macro F1 at the target recalls)."""

    c: float = 64.0  # inverse L2 strength of the logistic regressions
    embedding_weight: float = 1.0  # scale of the unit MiniLM vector next to the unit TF-IDF blocks
    word_weight: float = 1.0  # scale of the word TF-IDF block next to the character one
    min_df: int = 1  # an n-gram must occur in this many training messages
    # None: the classes' own frequencies (``none`` is the largest), so that text the model knows
    # little about leans to ``none``; thresholds then set the recall. Better than "balanced" in CV.
    class_weight: str | None = None


# --- Data -----------------------------------------------------------------------------------------


def load_dataset(path: Path = DATA_PATH) -> list[dict]:
    """Records ``{text, intent, group, split}`` (one JSON object a line)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def write_dataset(records: Iterable[dict], path: Path = DATA_PATH) -> None:
    keys = ("text", "intent", "group", "split")
    body = "".join(json.dumps({k: r[k] for k in keys}, ensure_ascii=False) + "\n" for r in records)
    Path(path).write_text(body, encoding="utf-8")


def assign_splits(
    records: Sequence[dict],
    *,
    seed: int = SEED,
    test_fraction: float = TEST_FRACTION,
    keep: bool = True,
) -> list[dict]:
    """~``test_fraction`` of each intent's messages to ``test``, whole groups at a time (so no
    paraphrase of a test message is trained on); deterministic for a seed. ``keep``: groups that
    already have a split keep it, and only new groups are drawn (adding messages never moves
    the held-back ones into training)."""
    split_of = {r["group"]: r["split"] for r in records if keep and r.get("split")}
    sizes: dict[str, Counter] = defaultdict(Counter)
    for r in records:
        sizes[r["intent"]][r["group"]] += 1
    rng = random.Random(seed)
    for intent in sorted(sizes):
        groups = sizes[intent]
        wanted = test_fraction * sum(groups.values())
        taken = sum(n for g, n in groups.items() if split_of.get(g) == "test")
        new = sorted(g for g in groups if g not in split_of)
        rng.shuffle(new)
        for g in new:
            split_of[g] = "test" if taken < wanted else "train"
            taken += groups[g] if split_of[g] == "test" else 0
    return [{**r, "split": split_of[r["group"]]} for r in records]


# --- Features -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segmented:
    """Every message cut into ``segments`` (whole message first), with one vector per segment."""

    texts: list[str]
    labels: np.ndarray  # (n,) str
    groups: np.ndarray  # (n,) str
    owner: np.ndarray  # (m,) message index of each segment
    whole: np.ndarray  # (n,) index of each message's whole-message segment
    segment_texts: list[str]
    vectors: np.ndarray  # (m, dim)


def segment_and_embed(records: Sequence[dict], *, embedder: Embedder) -> Segmented:
    owner, seg_texts, whole = [], [], []
    for i, r in enumerate(records):
        parts = segments(r["text"])
        whole.append(len(seg_texts))
        owner.extend([i] * len(parts))
        seg_texts.extend(parts)
    return Segmented(
        texts=[r["text"] for r in records],
        labels=np.asarray([r["intent"] for r in records]),
        groups=np.asarray([r["group"] for r in records]),
        owner=np.asarray(owner),
        whole=np.asarray(whole),
        segment_texts=seg_texts,
        vectors=np.asarray(embedder.embed(seg_texts), dtype=np.float32),
    )


@dataclass(frozen=True)
class Fitted:
    char: TfidfVectorizer
    word: TfidfVectorizer
    heads: dict[str, LogisticRegression]  # "embedding" | "text" → multinomial over CLASSES
    params: Params

    def design(self, head: str, texts: Sequence[str], vectors: np.ndarray) -> sparse.csr_matrix:
        blocks = [self.char.transform(texts), self.params.word_weight * self.word.transform(texts)]
        if head == "embedding":
            blocks.insert(0, sparse.csr_matrix(self.params.embedding_weight * vectors))
        return sparse.hstack(blocks).tocsr()

    def probabilities(self, data: Segmented, messages: np.ndarray, way: str) -> np.ndarray:
        """(len(messages), len(INTENTS)): each intent's best probability over the segments, scored
        by one way: ``vector`` (every segment, the mean of both heads), ``whole`` (the whole
        message only, mean of both heads), ``whole_text`` (the whole message only, text head),
        ``sentences`` (the sentences only, text head; 0 for a one-sentence message)."""
        segs = np.flatnonzero(np.isin(data.owner, messages))
        if way != "vector":
            is_whole = np.isin(segs, data.whole)
            segs = segs[~is_whole] if way == "sentences" else segs[is_whole]
            way = "vector" if way == "whole" else "text"
        texts, vectors = [data.segment_texts[s] for s in segs], data.vectors[segs]
        heads = ("embedding", "text") if way == "vector" else ("text",)
        p = np.mean([self._head_probabilities(h, texts, vectors) for h in heads], axis=0)
        out = np.zeros((len(messages), len(INTENTS)))
        row = {m: i for i, m in enumerate(messages)}
        for s, probs in zip(segs, p, strict=True):
            r = row[data.owner[s]]
            out[r] = np.maximum(out[r], probs)
        return out

    def _head_probabilities(self, head: str, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        model = self.heads[head]
        order = [list(model.classes_).index(c) for c in INTENTS]
        return model.predict_proba(self.design(head, texts, vectors))[:, order]


def fit(data: Segmented, messages: np.ndarray, params: Params) -> Fitted:
    """Both heads on the training messages, plus every sentence of the ``none`` ones as ``none``
    (long ordinary tickets are scored sentence by sentence too). The sentences of the other
    messages carry no label of their own and are not trained on."""
    texts = [data.texts[i] for i in messages]
    rows = list(data.whole[messages])
    labels = list(data.labels[messages])
    for m in messages[data.labels[messages] == NONE]:
        extra = [s for s in np.flatnonzero(data.owner == m) if s != data.whole[m]]
        rows.extend(extra)
        labels.extend([NONE] * len(extra))
    rows_texts = [data.segment_texts[s] for s in rows]

    def vectorizer(analyzer):
        return TfidfVectorizer(
            analyzer=analyzer, sublinear_tf=True, min_df=params.min_df, dtype=np.float32
        ).fit(texts)

    fitted = Fitted(vectorizer(char_ngrams), vectorizer(word_ngrams), {}, params)
    for head in ("embedding", "text"):
        x = fitted.design(head, rows_texts, data.vectors[rows])
        fitted.heads[head] = LogisticRegression(
            C=params.c, class_weight=params.class_weight, max_iter=5000
        ).fit(x, labels)
    return fitted


# --- Thresholds -----------------------------------------------------------------------------------


def choose_threshold(scores: np.ndarray, positive: np.ndarray, target_recall: float) -> float:
    """The threshold with the best precision among those whose recall reaches the target; of equal
    precision the lowest (the most recall to spare on new data), set midway (in logit space)
    between the lowest positive it keeps and the highest negative under it."""
    pos = np.sort(scores[positive])[::-1]
    if len(pos) == 0:
        return 0.5
    need = max(1, math.ceil(target_recall * len(pos)))
    best_t, best_precision = pos[need - 1], -1.0
    for t in pos[need - 1 :][::-1]:  # ascending: ties keep the lowest
        fired = scores >= t
        precision = (fired & positive).sum() / fired.sum()
        if precision > best_precision + 1e-12:
            best_t, best_precision = t, precision
    below = scores[~positive & (scores < best_t)]
    if len(below) == 0:
        return float(min(best_t, 0.5))
    return _between(below.max(), best_t)


def choose_sentence_threshold(
    whole_fired: np.ndarray, scores: np.ndarray, positive: np.ndarray, target_recall: float
) -> float:
    """decide() reads the whole message with its vector and the sentences with the text head: the
    sentences' threshold is the one with the best precision of the two together among those
    whose recall reaches the target (of equal precision the lowest). When the whole message
    already reaches it, only a sentence scored above every negative one in cross-validation
    fires."""
    need = math.ceil(target_recall * positive.sum())
    best_t, best_precision = 1.0, -1.0
    for t in [*np.unique(scores[positive & ~whole_fired]), 1.0]:  # ascending
        fired = whole_fired | (scores >= t)
        if (fired & positive).sum() < need:
            continue
        precision = (fired & positive).sum() / fired.sum()
        if precision > best_precision + 1e-12:
            best_t, best_precision = t, precision
    below = scores[~positive & (scores < best_t)]
    if best_t >= 1.0:
        return _between(scores[~positive].max(initial=0.5), 0.999)
    return _between(below.max(), best_t) if len(below) else float(min(best_t, 0.5))


def _between(lo: float, hi: float) -> float:
    """Midway between two probabilities in logit space."""
    lo, hi = np.clip([lo, hi], 1e-6, 1 - 1e-6)
    z = (math.log(lo / (1 - lo)) + math.log(hi / (1 - hi))) / 2
    return float(1 / (1 + math.exp(-z)))


def cross_validated_scores(
    data: Segmented, train: np.ndarray, params: Params, *, seed: int = SEED
) -> dict[str, np.ndarray]:
    """Out-of-fold probabilities on TRAIN, (len(train), len(INTENTS)), for each way of scoring
    (see ``Fitted.probabilities``)."""
    folds = StratifiedGroupKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    ways = ("vector", "whole", "whole_text", "sentences")
    out = {way: np.zeros((len(train), len(INTENTS))) for way in ways}
    for fit_idx, held_idx in folds.split(train, data.labels[train], data.groups[train]):
        fitted = fit(data, train[fit_idx], params)
        for way in out:
            out[way][held_idx] = fitted.probabilities(data, train[held_idx], way)
    return out


# --- The shipped model ----------------------------------------------------------------------------


def _num(values: Iterable[float]) -> list[float]:
    # Three decimals: the largest change in any score on the data set is far below 0.01.
    return [round(float(v), 3) for v in values]


def to_json(fitted: Fitted, thresholds: dict[str, list[float]], *, embedder: Embedder) -> dict:
    def vocabulary(v: TfidfVectorizer) -> list[str]:
        return sorted(v.vocabulary_, key=v.vocabulary_.get)

    heads = {}
    for head, model in fitted.heads.items():
        order = [list(model.classes_).index(c) for c in CLASSES]
        heads[head] = {
            "embedding_weight": fitted.params.embedding_weight if head == "embedding" else None,
            "coef": [_num(model.coef_[i]) for i in order],
            "intercept": _num(model.intercept_[order]),
        }
    return {
        "format": 1,
        "classes": list(CLASSES),
        "embedder": {"name": embedder.name, "dim": embedder.dim},
        "tfidf": {
            "char": {
                "analyzer": "char_wb",
                "ngram_range": list(CHAR_NGRAMS),
                "vocabulary": vocabulary(fitted.char),
                "idf": _num(fitted.char.idf_),
            },
            "word": {
                "analyzer": "words and word pairs",
                "weight": fitted.params.word_weight,
                "vocabulary": vocabulary(fitted.word),
                "idf": _num(fitted.word.idf_),
            },
        },
        "heads": heads,
        "thresholds": {way: [round(t, 6) for t in ts] for way, ts in thresholds.items()},
        "params": {
            "c": fitted.params.c,
            "min_df": fitted.params.min_df,
            "class_weight": fitted.params.class_weight,
        },
        "target_recall": TARGET_RECALL,
    }


def train(
    records: Sequence[dict], *, embedder: Embedder, params: Params = Params()
) -> tuple[dict, Report]:
    """Fit on TRAIN, choose thresholds by cross-validation on TRAIN, evaluate on TEST.
    Returns the model as JSON-ready data and the printed report."""
    data = segment_and_embed(records, embedder=embedder)
    split = np.asarray([r["split"] for r in records])
    train_idx, test_idx = np.flatnonzero(split == "train"), np.flatnonzero(split == "test")
    oof = cross_validated_scores(data, train_idx, params)
    labels = data.labels[train_idx]

    def each_intent(choose, *columns: np.ndarray) -> list[float]:
        return [
            choose(*(c[:, k] for c in columns), labels == intent, TARGET_RECALL[intent])
            for k, intent in enumerate(INTENTS)
        ]

    thresholds = {
        "vector": each_intent(choose_threshold, oof["vector"]),
        "text": each_intent(choose_threshold, oof["whole_text"]),
    }
    whole_fired = oof["whole"] >= np.asarray(thresholds["vector"])
    thresholds["sentence"] = each_intent(choose_sentence_threshold, whole_fired, oof["sentences"])
    raw = to_json(fit(data, train_idx, params), thresholds, embedder=embedder)
    model = model_from_json(raw)

    report = Report([f"data: {len(records)} messages, {dict(Counter(split.tolist()))}; {params}"])
    for way, chosen in raw["thresholds"].items():
        report.add(f"thresholds ({way}): {dict(zip(INTENTS, chosen, strict=True))}")
    t = {way: np.asarray(v) for way, v in thresholds.items()}
    sentences = recentre(oof["sentences"], t["sentence"])
    cv = {
        "every segment with its vector (an embedder)": recentre(oof["vector"], t["vector"]),
        "message with its vector, sentences by the text head (decide())": np.maximum(
            recentre(oof["whole"], t["vector"]), sentences
        ),
        "no vector (text head alone)": np.maximum(
            recentre(oof["whole_text"], t["text"]), sentences
        ),
    }
    for name, scores in cv.items():
        report.add("", f"== TRAIN, {FOLDS}-fold grouped cross-validation, {name} ==")
        report.add(*tables(labels, pick(scores), scores >= 0.5))

    cached = CachedEmbedder(embedder, dict(zip(data.segment_texts, data.vectors, strict=True)))
    whole = {t: data.vectors[data.whole[i]] for i, t in enumerate(data.texts)}
    paths = {
        "embedder (message and every sentence embedded)": lambda t: {"embedder": cached},
        "vector (message embedded, sentences by the text head: decide())": lambda t: {
            "vector": whole[t]
        },
        "text only (no embedding)": lambda t: {},
    }
    for name, inputs in paths.items():
        texts = [data.texts[i] for i in test_idx]
        results = [classify_request(t, model=model, **inputs(t)) for t in texts]
        report.add("", f"== TEST (held back), {name} ==")
        report.add(*tables(data.labels[test_idx], *outcome(results)))
    return raw, report
