"""Compare two eval runs question by question: metric deltas with paired bootstrap 95% intervals,
and the questions whose outcome changed."""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass

import psycopg

from autocrm.core.errors import NotFound

METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "confidence")
SELECT_RESULTS = "SELECT question_id, question, metrics FROM eval_results WHERE run_id = %s"
SELECT_RUN = (
    "SELECT id, name, dataset FROM eval_runs WHERE id::text = %s OR name = %s "
    "ORDER BY started_at DESC LIMIT 1"
)


@dataclass
class MetricDelta:
    metric: str
    a: float
    b: float
    delta: float
    low: float
    high: float


@dataclass
class Comparison:
    run_a: dict
    run_b: dict
    paired: int
    deltas: list[MetricDelta]
    changed: list[dict]  # {question_id, question, before, after}


def bootstrap_ci(diffs: list[float], *, samples: int = 2000, seed: int = 7) -> tuple[float, float]:
    """Percentile interval of the mean paired difference (resampling questions)."""
    if not diffs:
        return 0.0, 0.0
    rng = random.Random(seed)
    n = len(diffs)
    means = sorted(statistics.fmean(rng.choices(diffs, k=n)) for _ in range(samples))
    return means[int(0.025 * samples)], means[int(0.975 * samples) - 1]


def _run(conn: psycopg.Connection, ref: str) -> dict:
    row = conn.execute(SELECT_RUN, (ref, ref)).fetchone()
    if row is None:
        raise NotFound(f"eval run {ref!r} not found (give its id or name)")
    return row


def complete_ids(conn: psycopg.Connection, *, run: str) -> tuple[dict, set[str]]:
    """The run, and the ids of its questions whose reply was complete."""
    found = _run(conn, run)
    rows = conn.execute(SELECT_RESULTS, (found["id"],)).fetchall()
    return found, {r["question_id"] for r in rows if r["metrics"].get("complete")}


def compare_runs(conn: psycopg.Connection, *, run_a: str, run_b: str) -> Comparison:
    a, b = _run(conn, run_a), _run(conn, run_b)
    ra = {r["question_id"]: r for r in conn.execute(SELECT_RESULTS, (a["id"],))}
    rb = {r["question_id"]: r for r in conn.execute(SELECT_RESULTS, (b["id"],))}
    common = sorted(set(ra) & set(rb))
    deltas = []
    for metric in METRICS:
        pairs = [(ra[q]["metrics"].get(metric), rb[q]["metrics"].get(metric)) for q in common]
        pairs = [(x, y) for x, y in pairs if x is not None and y is not None]
        if not pairs:
            continue
        diffs = [y - x for x, y in pairs]
        low, high = bootstrap_ci(diffs)
        deltas.append(
            MetricDelta(
                metric,
                statistics.fmean(x for x, _ in pairs),
                statistics.fmean(y for _, y in pairs),
                statistics.fmean(diffs),
                low,
                high,
            )
        )
    changed = []
    for q in common:
        ma, mb = ra[q]["metrics"], rb[q]["metrics"]
        before = (ma.get("recall@5", 0) > 0, ma.get("action"))
        after = (mb.get("recall@5", 0) > 0, mb.get("action"))
        if before != after:
            changed.append(
                {
                    "question_id": q,
                    "question": ra[q]["question"],
                    "before": {"hit@5": before[0], "action": before[1]},
                    "after": {"hit@5": after[0], "action": after[1]},
                }
            )
    return Comparison(dict(a), dict(b), len(common), deltas, changed)
