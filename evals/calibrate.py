"""Calibrate the decision's confidence on labelled eval runs: "sent" must mean "complete and
correct" (evals/replies.py ``reply_correct``: every required fact of a support-answers question,
or a reply that cites a gold passage and holds half of the reference's content words), so an
unanswerable question, and an answerable one whose reply is wrong or incomplete, are negatives.
Runs stored before replies were measured fall back to "answerable".

Fits a logistic regression (standardised features) from the decision's signals to that label, on
the questions of the runs' "tune" part only; the "holdout" part is reported at the chosen
threshold, never fitted.
The send threshold is picked on 5-fold cross-validated probabilities, so the precision it promises
is not measured on the questions it was fitted to: of the thresholds whose out-of-fold precision
reaches the target (not below 0.5), the one that sends the most correct replies, and of those the
most precise (``choose_send``), counting as sent only the replies that the decision's
reply-level gates let through (pipeline/decision.py ``held_back``: agreement, top article, known
words, not a follow-up), since no threshold sends the others. The hand-off threshold is the
highest that hands off at most 5% of the correct replies. The scaling is folded into the weights;
all go to
``<data_dir>/calibration.json``, which the decision then reads instead of the default shipped with
the package (``pipeline/calibration.json``; pipeline/decision.py ``calibrated``). The source tree
is never written.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from autocrm.core.errors import InvalidInput
from autocrm.core.settings import DecisionSettings
from autocrm.evals.compare import _run
from autocrm.pipeline.decision import CALIBRATION_FILE_NAME, FEATURES, held_back, structural

# Never send a reply that the model finds more likely wrong than right, whatever the gates say.
MIN_SEND_THRESHOLD = 0.5
# The hand-off threshold: the highest confidence below which at most this share of the correct
# replies falls (out of fold). A correct reply handed off costs an agent the whole answer; a
# wrong one drafted costs a glance, so the draft line sits low.
DRAFT_RECALL = 0.95
# Signals whose meaning fixes the sign of their weight: more of the question's words unknown to
# the knowledge base never makes a reply more likely right. Fitted the other way (a quirk of the
# tune sets, where unanswerable questions reuse the KB's words), it lifted an off-topic ticket
# ("my tomato plants have yellow leaves") from a hand-off to a draft; such a weight is set to 0.
NEVER_POSITIVE = ("unseen_terms",)

# In a fixed order: the cross-validation folds are drawn over the rows, and the order a heap
# scan returns them in is not guaranteed (a clean-clone CI run once saw other folds, and other
# out-of-fold confidences, than every run before it).
SELECT = "SELECT metrics FROM eval_results WHERE run_id = %s ORDER BY question_id"


@dataclass
class Calibration:
    weights: dict[str, float]
    send_threshold: float
    draft_threshold: float
    precision: float
    recall: float
    auto_send_rate: float
    n: int
    table: list[tuple[float, float, float, float]]  # threshold, precision, recall, send rate
    holdout: dict[str, float] | None = None  # precision, recall, send rate, n at the threshold


def label(row: dict) -> bool:
    """A reply that may be sent: answerable, and correct where the run measured it."""
    if not row.get("answerable"):
        return False
    return bool(row["reply_correct"]) if row.get("reply_correct") is not None else True


def features(row: dict) -> list[float]:
    return [float(row["signals"].get(f) or 0) for f in FEATURES]


def sendable(row: dict, settings: DecisionSettings, confidence: float = 1.0) -> bool:
    """Whether the decision's reply-level gates (agreement, top article, known words, not a
    follow-up; for prose, ``confidence`` of at least its own threshold) would let this reply be
    sent at all: only those count as sent at a threshold."""
    return held_back(row["signals"], settings, confidence=confidence) is None


def _draft_threshold(p: np.ndarray, y: np.ndarray) -> float:
    for t in np.round(np.arange(0.95, 0.0, -0.01), 2):
        if (p[y] >= t).mean() >= DRAFT_RECALL:
            return float(t)
    return 0.0


def choose_send(
    table: list[tuple[float, float, float, float]], target_precision: float
) -> tuple[float, float, float, float]:
    """Of the (threshold, precision, recall, send rate) rows that reach the target precision, the
    one that sends the most correct replies; of those, the most precise (a lower threshold that
    sends no more correct replies only adds wrong ones). None reaching it: the most precise."""
    meeting = [row for row in table if row[1] >= target_precision]
    if not meeting:
        return max(table, key=lambda row: row[1])
    return max(meeting, key=lambda row: (row[2], row[1]))


def calibrate(
    conn: psycopg.Connection, *, runs: list[str], target_precision: float = 0.9
) -> Calibration:
    rows = []
    for run in runs:
        run_row = _run(conn, run)
        rows += [r["metrics"] for r in conn.execute(SELECT, (run_row["id"],))]
    rows = [r for r in rows if r.get("answerable") is not None and r.get("signals")]
    held = [r for r in rows if r.get("part") == "holdout"]
    rows = [r for r in rows if r.get("part") != "holdout"]
    if not rows or all(label(r) for r in rows) or not any(label(r) for r in rows):
        raise InvalidInput(
            "calibration needs runs with both sendable and not sendable replies and stored "
            "signals (run `autocrm eval run --dataset support-answers` or `--dataset mtrag`)"
        )
    x = np.array([features(r) for r in rows])
    y = np.array([label(r) for r in rows])
    gates = DecisionSettings()
    open_ = np.array([sendable(r, gates) for r in rows])
    # prose needs its own, higher confidence: judged on each reply's out-of-fold probability
    prose_ok = np.array([structural(r["signals"]) for r in rows])
    mean, scale = x.mean(axis=0), np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    z = (x - mean) / scale
    model = LogisticRegression(C=1.0, max_iter=1000)
    model.fit(z, y)
    wrong = [FEATURES.index(f) for f in NEVER_POSITIVE if model.coef_[0][FEATURES.index(f)] > 0]
    z[:, wrong] = 0.0  # a zero column gets a zero weight: refit without it
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=7)
    p = cross_val_predict(model, z, y, cv=folds, method="predict_proba")[:, 1]
    model.fit(z, y)
    table = []
    for t in np.round(np.arange(MIN_SEND_THRESHOLD, 0.99, 0.01), 2):
        sent = (p >= t) & open_ & (prose_ok | (p >= gates.send_threshold_prose))
        if not sent.any():
            break
        table.append(
            (float(t), float(y[sent].mean()), float((sent & y).sum() / y.sum()), float(sent.mean()))
        )
    if not table:
        raise InvalidInput(
            "no reply of these runs passes the reply-level send gates (agreement, top article, "
            "known words, not a follow-up): nothing to choose a send threshold on"
        )
    best = choose_send(table, target_precision)
    coef = model.coef_[0] / scale  # fold the standardisation into plain weights
    weights = {"bias": float(model.intercept_[0] - (coef * mean).sum())} | {
        f: float(w) for f, w in zip(FEATURES, coef, strict=True)
    }
    draft = min(_draft_threshold(p, y), best[0])
    result = Calibration(weights, best[0], draft, best[1], best[2], best[3], len(rows), table)
    if held:
        p_held = model.predict_proba((np.array([features(r) for r in held]) - mean) / scale)[:, 1]
        y_held = np.array([label(r) for r in held])
        sent = (p_held >= best[0]) & np.array(
            [sendable(r, gates, float(c)) for r, c in zip(held, p_held, strict=True)]
        )
        answerable = np.array([bool(r.get("answerable")) for r in held])
        result.holdout = {
            "precision": float(y_held[sent].mean()) if sent.any() else 0.0,
            "recall": float((sent & y_held).sum() / max(1, y_held.sum())),
            "send_rate": float(sent.mean()),
            "sent": int(sent.sum()),
            "answered": float((p_held[answerable] >= draft).mean()) if answerable.any() else 0.0,
            "n": len(held),
        }
    return result


def save(calibration: Calibration, *, run_name: str, data_dir: Path) -> Path:
    """Write the calibration to ``<data_dir>/calibration.json``, replacing any earlier one in one
    step, so that a reader never sees half a file."""
    directory = data_dir
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / CALIBRATION_FILE_NAME
    text = json.dumps(
        {
            "calibrated_on": run_name,
            "questions": calibration.n,
            "weights": {k: round(v, 4) for k, v in calibration.weights.items()},
            "send_threshold": calibration.send_threshold,
            "draft_threshold": calibration.draft_threshold,
            "precision": round(calibration.precision, 4),
            "recall": round(calibration.recall, 4),
            "holdout": calibration.holdout,
        },
        indent=2,
    )
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(text + "\n", encoding="utf-8")
    partial.replace(path)
    return path
