"""AI insights for admins (the leads): how well the AI does over time, by team or by category,
where the knowledge base has gaps, and the articles proposed to fill them, to approve (publish),
edit or reject.

Effectiveness comes from the ``ai_effectiveness`` materialized view (through its staff function,
as of its last refresh; the page can refresh it), rolled up exactly by ``pipeline.effectiveness``;
hand-off reasons from ``ai_responses``; gaps and proposals from ``pipeline.gaps`` and
``pipeline.proposals``. Charts are inline SVG drawn on the server: no script, no chart library.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from autocrm.api.deps import get_resources, service_connection
from autocrm.api.tasks import enqueue_reembed
from autocrm.api.web.pages import AdminPage, PageRoute, render, render_markdown
from autocrm.core.errors import NotFound
from autocrm.core.periods import parse_since
from autocrm.pipeline.effectiveness import rollup
from autocrm.pipeline.feedback import refresh_effectiveness_views
from autocrm.pipeline.gaps import find_gaps
from autocrm.pipeline.proposals import propose_articles

router = APIRouter(route_class=PageRoute)

EFFECTIVENESS = "SELECT * FROM ai_effectiveness_for_staff(%s)"
TEAMS = "SELECT id, name FROM teams"
HANDOFFS = """
SELECT r.handoff_reason::text AS reason, coalesce(tm.name, '(no team)') AS team,
       coalesce(t.category, 'uncategorized') AS category, count(*) AS n
  FROM ai_responses r JOIN tickets t ON t.id = r.ticket_id
  LEFT JOIN teams tm ON tm.id = t.team_id
 WHERE r.created_at >= %s AND r.handoff_reason IS NOT NULL
 GROUP BY 1, 2, 3
"""
PROPOSALS = """
SELECT a.id, a.title, a.body, a.summary, a.metadata, a.updated_at, a.status::text AS status
  FROM kb_articles a
 WHERE a.source = 'proposals' AND a.status IN ('draft', 'review')
 ORDER BY a.updated_at DESC
 LIMIT 50
"""
# Approve = publish (with the visibility the reviewer chose); reject = archive, which proposals
# never overwrite (pipeline/proposals.py updates drafts only). Who decided is kept in metadata.
REVIEW = """
UPDATE kb_articles
   SET status = %(status)s::article_status,
       visibility = coalesce(%(visibility)s::article_visibility, visibility),
       metadata = metadata || jsonb_build_object('review', jsonb_build_object(
           'decision', %(decision)s::text, 'by', %(user)s::text, 'at', now(),
           'note', %(note)s::text))
 WHERE id = %(id)s AND source = 'proposals' AND status IN ('draft', 'review')
RETURNING id
"""
UNTEAMED = UUID("00000000-0000-0000-0000-000000000000")
GROUPINGS = ("team", "category")
PALETTE = ("#2457d6", "#1b7f4c", "#b3261e", "#a15c00", "#6a3fc4", "#0f7c8c", "#c2185b", "#5d6b7c")
METRICS = (  # key, title, y range, format
    ("auto_resolution", "Auto-resolution rate", (0.0, 1.0), "{:.0%}"),
    ("acceptance_rate", "Agent acceptance", (0.0, 1.0), "{:.0%}"),
    ("mean_edit_similarity", "Edit similarity (1 − edit distance)", (0.0, 1.0), "{:.2f}"),
    ("csat", "CSAT (1–5)", (1.0, 5.0), "{:.1f}"),
)
FLASH = {
    "approved": "Approved: the article is published and re-embedding is queued.",
    "rejected": "Rejected: the proposal is archived.",
    "refreshed": "The effectiveness views were refreshed.",
}


def effectiveness(conn, *, since: date) -> list[dict]:
    """The view's rows (as the staff function returns them) with team names."""
    teams = {r["id"]: r["name"] for r in conn.execute(TEAMS)}
    rows = conn.execute(EFFECTIVENESS, (since,)).fetchall()
    for row in rows:
        row["team"] = teams.get(row["team_id"], "(no team)" if row["team_id"] == UNTEAMED else "?")
    return rows


def grouped(rows: Sequence[dict], *, by: str) -> list[dict]:
    """Per (day, group): the exact roll-ups, plus the auto-resolution rate: sent replies that
    resolved the ticket (deflected, not reopened) over all AI responses."""
    merged = rollup(rows, by=("day", by))
    resolved: dict[tuple, float] = defaultdict(float)
    for r in rows:
        if str(r["decision"]) == "sent" and r["deflection_rate"] is not None:
            resolved[(r["day"], r[by])] += r["deflection_rate"] * r["responses"]
    for m in merged:
        m["auto_resolution"] = (
            resolved[(m["day"], m[by])] / m["responses"] if m["responses"] else None
        )
    return merged


def line_chart(
    points: Sequence[dict],
    *,
    by: str,
    metric: str,
    y_range: tuple[float, float],
    fmt: str,
    width: int = 420,
    height: int = 220,
) -> dict[str, Any]:
    """Geometry of a line chart (one line per group over the days); the template draws it."""
    left, right, top, bottom = 44, 24, 10, 26
    days = sorted({p["day"] for p in points})
    groups = sorted({str(p[by]) for p in points})
    lo, hi = y_range
    span = max((days[-1] - days[0]).days, 1) if days else 1

    def x(day: date) -> float:
        if len(days) < 2:
            return left + (width - left - right) / 2
        return left + (day - days[0]).days / span * (width - left - right)

    def y(value: float) -> float:
        value = min(max(value, lo), hi)
        return top + (1 - (value - lo) / (hi - lo)) * (height - top - bottom)

    series = []
    for n, group in enumerate(groups):
        mine = sorted(
            (p for p in points if str(p[by]) == group and p.get(metric) is not None),
            key=lambda p: p["day"],
        )
        dots = [
            {
                "x": round(x(p["day"]), 1),
                "y": round(y(p[metric]), 1),
                "label": f"{group}, {p['day']:%d %b}: {fmt.format(p[metric])} ({p['responses']})",
            }
            for p in mine
        ]
        series.append(
            {
                "name": group,
                "color": PALETTE[n % len(PALETTE)],
                "points": " ".join(f"{d['x']},{d['y']}" for d in dots),
                "dots": dots,
            }
        )
    ticks = [lo + (hi - lo) * k / 4 for k in range(5)]
    x_ticks = days if len(days) <= 6 else [days[round(i * (len(days) - 1) / 5)] for i in range(6)]
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "top": top,
        "bottom": height - bottom,
        "series": series,
        "empty": not any(s["dots"] for s in series),
        "y_ticks": [{"y": round(y(t), 1), "label": fmt.format(t)} for t in ticks],
        "x_ticks": [{"x": round(x(d), 1), "label": f"{d:%d %b}"} for d in dict.fromkeys(x_ticks)],
    }


def bar_chart(counts: dict[str, int], *, width: int = 420, bar: int = 22) -> dict[str, Any]:
    """Horizontal bars, largest first (the hand-off reasons)."""
    label_w, value_w = 150, 40
    peak = max(counts.values(), default=0) or 1
    bars = [
        {
            "label": label.replace("_", " "),
            "value": value,
            "y": n * (bar + 6),
            "width": round(value / peak * (width - label_w - value_w), 1),
            "color": PALETTE[n % len(PALETTE)],
        }
        for n, (label, value) in enumerate(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    ]
    return {
        "width": width,
        "height": max(len(bars), 1) * (bar + 6),
        "bar": bar,
        "x0": label_w,
        "bars": bars,
    }


def handoffs(conn, *, since: datetime, by: str) -> dict[str, Any]:
    rows = conn.execute(HANDOFFS, (since,)).fetchall()
    totals: dict[str, int] = defaultdict(int)
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        totals[r["reason"]] += r["n"]
        table[r[by]][r["reason"]] += r["n"]
    reasons = sorted(totals, key=lambda k: -totals[k])
    return {
        "chart": bar_chart(dict(totals)),
        "reasons": reasons,
        "rows": [
            {"group": g, "counts": dict(c), "total": sum(c.values())}
            for g, c in sorted(table.items())
        ],
        "total": sum(totals.values()),
    }


def proposals(conn) -> list[dict]:
    out = []
    for row in conn.execute(PROPOSALS):
        meta = (row["metadata"] or {}).get("proposal", {})
        out.append(row | {"proposal": meta, "html": render_markdown(row["body"])})
    return out


def _since(text: str) -> datetime:
    return parse_since(text)


@router.get("/app/insights")
def insights(
    request: Request,
    session: AdminPage,
    since: Annotated[str, Query(max_length=32)] = "30d",
    by: Annotated[str, Query(max_length=20)] = "team",
) -> Response:
    by = by if by in GROUPINGS else "team"
    start = _since(since)
    rows = effectiveness(session.conn, since=start.date())
    points = grouped(rows, by=by)
    charts = [
        {"key": key, "title": title, **line_chart(points, by=by, metric=key, y_range=yr, fmt=fmt)}
        for key, title, yr, fmt in METRICS
    ]
    summary = sorted(rollup(rows, by=(by,)), key=lambda r: -r["responses"])
    for row, total in zip(summary, grouped_totals(rows, by=by, groups=summary), strict=True):
        row["auto_resolution"] = total
    res = get_resources(request)
    gaps = find_gaps(session.conn, embedder=res.embedder, since=start, limit=300)
    return render(
        request,
        "insights.html",
        {
            "since": since,
            "by": by,
            "groupings": GROUPINGS,
            "charts": charts,
            "legend": charts[0]["series"] if charts else [],
            "summary": summary,
            "responses": sum(r["responses"] for r in rows),
            "handoffs": handoffs(session.conn, since=start, by=by),
            "gaps": gaps[:12],
            "gap_count": len(gaps),
            "proposals": proposals(session.conn),
            "flash": _flash(request),
        },
        session=session,
    )


def grouped_totals(rows: Sequence[dict], *, by: str, groups: Sequence[dict]) -> list[float | None]:
    """The auto-resolution rate of each summary group, over the whole window."""
    merged = {str(m[by]): m for m in grouped([r | {"day": date.min} for r in rows], by=by)}
    return [merged.get(str(g[by]), {}).get("auto_resolution") for g in groups]


def _flash(request: Request) -> str | None:
    done = request.query_params.get("done", "")
    if done.startswith("proposed:"):
        return f"Proposals: {done.removeprefix('proposed:').replace('-', ' ').replace('_', ', ')}."
    return FLASH.get(done)


def _back(done: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/app/insights?done={done}{anchor}", status_code=303)


def _review(
    session, *, article_id: UUID, status: str, decision: str, visibility: str | None, note: str
) -> None:
    row = session.conn.execute(
        REVIEW,
        {
            "id": article_id,
            "status": status,
            "visibility": visibility,
            "decision": decision,
            "user": str(session.user_id),
            "note": note.strip()[:2000] or None,
        },
    ).fetchone()
    if row is None:
        raise NotFound(f"no proposal {article_id} waiting for review")


Field = Annotated[str, Form(max_length=2000)]


@router.post("/app/insights/proposals/{article_id}/approve")
def approve(
    request: Request,
    article_id: UUID,
    session: AdminPage,
    visibility: Field = "public",
    note: Field = "",
) -> Response:
    if visibility not in ("public", "internal"):
        raise NotFound(f"no visibility {visibility!r}")
    _review(
        session,
        article_id=article_id,
        status="published",
        decision="approved",
        visibility=visibility,
        note=note,
    )
    if get_resources(request).queue is not None:
        session.after_commit.append(enqueue_reembed)
    return _back("approved", "#proposals")


@router.post("/app/insights/proposals/{article_id}/reject")
def reject(request: Request, article_id: UUID, session: AdminPage, note: Field = "") -> Response:
    _review(
        session,
        article_id=article_id,
        status="archived",
        decision="rejected",
        visibility=None,
        note=note,
    )
    return _back("rejected", "#proposals")


@router.post("/app/insights/propose")
def propose(
    request: Request, session: AdminPage, since: Annotated[str, Form(max_length=32)] = "30d"
) -> Response:
    """Find the gaps and draft (or update) an article proposal for each one a human solved."""
    res = get_resources(request)
    clusters = find_gaps(session.conn, embedder=res.embedder, since=_since(since), limit=300)
    made = propose_articles(
        session.conn, clusters=clusters, embedder=res.embedder, chat_model=res.chat_model
    )
    counts: dict[str, int] = defaultdict(int)
    for p in made:
        counts[p.outcome] += 1
    text = "_".join(f"{n}-{k.replace('_', '-')}" for k, n in sorted(counts.items())) or "none"
    return _back(f"proposed:{text}", "#proposals")


@router.post("/app/insights/refresh")
def refresh(request: Request, session: AdminPage) -> Response:
    """Refresh the effectiveness views now (the worker does it every 15 minutes)."""
    with service_connection(get_resources(request).pool) as conn:
        refresh_effectiveness_views(conn)
    return _back("refreshed")
