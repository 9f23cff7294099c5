"""Eval runs for admins: every run with its settings and metrics, one run's questions (reply,
retrieved and gold documents, decision), and two runs side by side.

``autocrm eval run`` stores runs in ``eval_runs`` / ``eval_results`` (evals/runner.py); the pages
read those tables with the caller's RLS session (admins only) and import nothing from
``autocrm.evals``: the API sits below the evals in the layering.
"""

from __future__ import annotations

import json
import statistics
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from autocrm.api.web.pages import AdminPage, PageRoute, render
from autocrm.core.errors import NotFound

router = APIRouter(route_class=PageRoute)

LIST_RUNS = """
SELECT r.id, r.name, r.dataset, r.split, r.git_commit, r.settings, r.metrics, r.status,
       r.started_at, r.finished_at,
       (SELECT count(*) FROM eval_results x WHERE x.run_id = r.id) AS results
  FROM eval_runs r
 ORDER BY r.started_at DESC, r.id
 LIMIT 200
"""
RUN = """
SELECT id, name, dataset, split, git_commit, settings, metrics, status, started_at, finished_at
  FROM eval_runs WHERE id::text = %(ref)s OR name = %(ref)s
 ORDER BY started_at DESC LIMIT 1
"""
RESULTS = """
SELECT question_id, question, answer, retrieved, metrics, latency_ms
  FROM eval_results WHERE run_id = %s ORDER BY question_id
"""
PAGE_SIZE = 100
HEADLINE = {  # metric -> its short column header on the list
    "recall@5": "R@5",
    "mrr@10": "MRR@10",
    "ndcg@10": "nDCG@10",
    "answered_rate": "answered",
    "correct_rate": "correct",
    "send_precision": "send prec.",
    "auto_send_rate": "auto-send",
}
PAIRED = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "reply_correct", "confidence")
LOWER_IS_BETTER = ("_ms", "unanswerable_sent", "cut_units", "judge_failures")
DECISIONS = ("sent", "drafted", "escalated")


def find_run(conn, ref: str) -> dict:
    """A run by id or name (the newest of that name), as `autocrm eval compare` finds them."""
    row = conn.execute(RUN, {"ref": ref}).fetchone()
    if row is None:
        raise NotFound(f"eval run {ref!r} not found")
    return row


def numeric(metrics: dict) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in metrics.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def ordered(metrics: dict[str, float]) -> dict[str, float]:
    """The headline metrics first, then the rest by name (parts, tune./holdout., last)."""
    first = [k for k in ("questions", "answerable", *HEADLINE) if k in metrics]
    rest = sorted((k for k in metrics if k not in first), key=lambda k: ("." in k, k))
    return {k: metrics[k] for k in first + rest}


def documents(retrieved: list[str], metrics: dict) -> dict[str, Any]:
    """The top 10 retrieved documents (an article counts once, at its best rank) marked gold or
    not, and the gold documents. Runs that recorded their gold ids (``metrics.gold``) show them
    all; otherwise the first gold document is known from MRR@10 (its rank), the rest is not."""
    ranked = list(dict.fromkeys(retrieved))[:10]
    gold = metrics.get("gold") or metrics.get("reference_context_ids")
    if isinstance(gold, list):
        known = {str(g) for g in gold}
        return {
            "ranked": [{"id": d, "gold": d in known} for d in ranked],
            "gold": sorted(known),
            "note": None if known else "no gold document (unanswerable)",
        }
    mrr = metrics.get("mrr@10") or 0
    rank = round(1 / mrr) if mrr else None
    first = ranked[rank - 1] if rank and rank <= len(ranked) else None
    if metrics.get("answerable") is False:
        note = "unanswerable: no gold document"
    elif first:
        note = f"first gold document at rank {rank}; the run did not record the others"
    else:
        note = "no gold document in the top 10 (the run did not record which they are)"
    return {
        "ranked": [{"id": d, "gold": d == first} for d in ranked],
        "gold": [first] if first else [],
        "note": note,
    }


def run_results(conn, run_id) -> list[dict]:
    return question_rows(conn.execute(RESULTS, (run_id,)).fetchall())


def question_rows(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        m = r["metrics"] or {}
        out.append(
            r
            | {
                "docs": documents(list(r["retrieved"] or []), m),
                "action": m.get("action"),
                "confidence": m.get("confidence"),
                "answerable": m.get("answerable"),
                "correct": m.get("reply_correct"),
                "hit": m.get("hit@5"),
                "recall5": m.get("recall@5"),
                "part": m.get("part"),
            }
        )
    return out


@router.get("/app/evals")
def evals_list(request: Request, session: AdminPage) -> Response:
    runs = session.conn.execute(LIST_RUNS).fetchall()
    for run in runs:
        run["headline"] = {k: run["metrics"].get(k) for k in HEADLINE}
    return render(request, "evals_list.html", {"runs": runs, "headline": HEADLINE}, session=session)


@router.get("/app/evals/compare")
def evals_compare(
    request: Request,
    session: AdminPage,
    a: Annotated[str, Query(min_length=1, max_length=200)],
    b: Annotated[str, Query(min_length=1, max_length=200)],
    all: Annotated[bool, Query()] = False,
) -> Response:
    run_a, run_b = find_run(session.conn, a), find_run(session.conn, b)
    ma, mb = numeric(run_a["metrics"]), numeric(run_b["metrics"])
    deltas = [
        {
            "metric": k,
            "a": ma.get(k),
            "b": mb.get(k),
            "delta": mb[k] - ma[k] if k in ma and k in mb else None,
            "lower_better": any(s in k for s in LOWER_IS_BETTER),
        }
        for k in sorted(set(ma) | set(mb))
    ]
    ra = {r["question_id"]: r for r in run_results(session.conn, run_a["id"])}
    rb = {r["question_id"]: r for r in run_results(session.conn, run_b["id"])}
    common = sorted(set(ra) & set(rb))
    paired = []
    for metric in PAIRED:
        pairs = [(ra[q]["metrics"].get(metric), rb[q]["metrics"].get(metric)) for q in common]
        pairs = [
            (x, y) for x, y in pairs if isinstance(x, int | float) and isinstance(y, int | float)
        ]
        if pairs:
            mean_a = statistics.fmean(x for x, _ in pairs)
            mean_b = statistics.fmean(y for _, y in pairs)
            paired.append(
                {
                    "metric": metric,
                    "a": mean_a,
                    "b": mean_b,
                    "delta": mean_b - mean_a,
                    "n": len(pairs),
                }
            )
    changes = []
    for q in common:
        x, y = ra[q], rb[q]
        changed = (x["action"], x["hit"], x["correct"]) != (y["action"], y["hit"], y["correct"])
        if changed or all:
            changes.append({"id": q, "question": x["question"], "a": x, "b": y, "changed": changed})
    return render(
        request,
        "evals_compare.html",
        {
            "run_a": run_a,
            "run_b": run_b,
            "deltas": deltas,
            "paired": paired,
            "changes": changes,
            "common": len(common),
            "only_a": len(set(ra) - set(rb)),
            "only_b": len(set(rb) - set(ra)),
            "show_all": all,
            "settings_diff": settings_diff(run_a["settings"], run_b["settings"]),
        },
        session=session,
    )


def settings_diff(a: dict, b: dict, prefix: str = "") -> list[dict]:
    """The settings that differ between two runs, as dotted keys."""
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += settings_diff(va, vb, f"{prefix}{key}.")
        elif va != vb:
            out.append({"key": f"{prefix}{key}", "a": json.dumps(va), "b": json.dumps(vb)})
    return out


@router.get("/app/evals/{run}")
def evals_run(
    request: Request,
    run: str,
    session: AdminPage,
    decision: Annotated[str | None, Query(max_length=20)] = None,
    outcome: Annotated[str | None, Query(max_length=20)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    found = find_run(session.conn, run)
    rows = run_results(session.conn, found["id"])
    total = len(rows)
    if decision in DECISIONS:
        rows = [r for r in rows if r["action"] == decision]
    if outcome == "miss":
        rows = [r for r in rows if r["answerable"] is not False and not r["hit"]]
    elif outcome == "wrong":
        rows = [r for r in rows if r["correct"] is not None and not r["correct"]]
    start = (page - 1) * PAGE_SIZE
    return render(
        request,
        "evals_run.html",
        {
            "run": found,
            "metrics": ordered(numeric(found["metrics"])),
            "settings_json": json.dumps(found["settings"], indent=2, sort_keys=True),
            "questions": rows[start : start + PAGE_SIZE],
            "shown": len(rows),
            "total": total,
            "page": page,
            "more": start + PAGE_SIZE < len(rows),
            "filters": {"decision": decision or "", "outcome": outcome or ""},
            "decisions": DECISIONS,
        },
        session=session,
    )
