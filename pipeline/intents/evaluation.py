"""How well the hand-off intent classifier does: the tables that scripts/train_handoff_intents.py
prints, and the held-back figures the tests check, all through ``classify_request`` itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix

from autocrm.pipeline.embedder import Embedder
from autocrm.pipeline.intents.classifier import (
    CLASSES,
    INTENTS,
    NONE,
    IntentModel,
    IntentResult,
    classify_request,
    segments,
)


@dataclass
class Report:
    lines: list[str]

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def __str__(self) -> str:
        return "\n".join(self.lines)


def evaluate(records: Sequence[dict], *, embedder: Embedder, model: IntentModel) -> dict:
    """Per-intent figures of a model on the TEST split, through ``classify_request``: ``detected``
    (the intent scored 0.5 or more, alone or with others) and ``named`` (it was the top intent)."""
    test = [r for r in records if r["split"] == "test"]
    truth = np.asarray([r["intent"] for r in test])
    pieces = sorted({p for r in test for p in segments(r["text"])})  # embedded in one batch
    cached = CachedEmbedder(embedder, dict(zip(pieces, embedder.embed(pieces), strict=True)))
    results = [classify_request(r["text"], embedder=cached, model=model) for r in test]
    predicted, detected = outcome(results)
    out = {}
    for k, intent in enumerate(INTENTS):
        positive = truth == intent
        out[intent] = {
            "support": int(positive.sum()),
            "detected_recall": float(detected[positive, k].mean()),
            "detected_precision": float(positive[detected[:, k]].mean()),
            "named_recall": float((predicted[positive] == intent).mean()),
            "missed": [
                r["text"]
                for r, d in zip(test, detected[:, k], strict=True)
                if r["intent"] == intent and not d
            ],
        }
    out[NONE] = {
        "support": int((truth == NONE).sum()),
        "handed_off": float((predicted[truth == NONE] != NONE).mean()),
    }
    return out


def outcome(results: Sequence[IntentResult]) -> tuple[np.ndarray, np.ndarray]:
    predicted = np.asarray([r.intent or NONE for r in results])
    detected = np.asarray([[i in r.detected for i in INTENTS] for r in results], dtype=bool)
    return predicted, detected.reshape(len(results), len(INTENTS))


class CachedEmbedder:
    """The embedder, answering from vectors already computed for the same texts."""

    def __init__(self, embedder: Embedder, known: dict[str, np.ndarray]):
        self.name, self.dim, self._embedder, self._known = (
            embedder.name,
            embedder.dim,
            embedder,
            known,
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in texts if t not in self._known]
        if missing:
            self._known.update(zip(missing, self._embedder.embed(missing), strict=True))
        return np.vstack([self._known[t] for t in texts])


def pick(scores: np.ndarray) -> np.ndarray:
    """The intent ``classify_request`` names from re-centred scores: the best at 0.5 or over."""
    return np.where(scores.max(axis=1) >= 0.5, np.asarray(INTENTS)[scores.argmax(axis=1)], NONE)


def tables(truth: np.ndarray, predicted: np.ndarray, detected: np.ndarray) -> list[str]:
    """The top intent per message (classification report, confusion matrix); then, per intent,
    how often it was detected at all (scored 0.5 or more, alone or with another intent): what the
    hand-off acts on."""
    labels = list(CLASSES)
    table = classification_report(truth, predicted, labels=labels, digits=3, zero_division=0)
    lines = [table.rstrip(), "detected (score >= 0.5, alone or with another intent):"]
    for k, intent in enumerate(INTENTS):
        positive = truth == intent
        hits = (detected[:, k] & positive).sum()
        lines.append(
            f"{intent:>20}  precision {hits / max(1, detected[:, k].sum()):.3f}  "
            f"recall {hits / max(1, positive.sum()):.3f}  ({hits}/{positive.sum()})"
        )
    handoff_t, handoff_p = truth != NONE, predicted != NONE
    tp = (handoff_t & handoff_p).sum()
    lines.append(
        f"{'any hand-off intent':>20}  precision {tp / max(1, handoff_p.sum()):.3f}  "
        f"recall {tp / max(1, handoff_t.sum()):.3f}  ({tp}/{handoff_t.sum()})"
    )
    matrix = confusion_matrix(truth, predicted, labels=labels)
    short = ["human", "refund", "legal", "threat", "none"]
    lines += [
        "confusion (rows: true, columns: top intent)",
        " " * 8 + "".join(f"{s:>8}" for s in short),
    ]
    lines += [
        f"{s:>8}" + "".join(f"{v:>8}" for v in row) for s, row in zip(short, matrix, strict=True)
    ]
    return lines
