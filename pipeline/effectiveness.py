"""The AI effectiveness report: rows of the ``ai_effectiveness`` materialized view, exact roll-ups
of them (by decision, day, category, …), a text table and PNG charts.

Rates roll up exactly because the view carries each rate's denominator: acceptance over ``acted``
responses, edit similarity over ``compared``, CSAT over ``rated``, score over ``scored``,
deflection/reopen over sent responses (rows whose decision is 'sent'), escalation over all.
Latency percentiles do not roll up, so summaries read them from ``ai_responses`` directly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psycopg

from autocrm.pipeline.feedback import refresh_effectiveness_views

SELECT_ROWS = """
SELECT e.*, coalesce(tm.name, '(no team)') AS team
  FROM ai_effectiveness e LEFT JOIN teams tm ON tm.id = e.team_id
 WHERE e.day >= %s
 ORDER BY e.day, team, e.category, e.model, e.prompt_version, e.decision
"""
SELECT_LATENCY = """
SELECT coalesce(decision::text, 'all') AS decision,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY (latency_ms ->> 'total')::float8) AS p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY (latency_ms ->> 'total')::float8) AS p95
  FROM ai_responses WHERE created_at >= %s::date
 GROUP BY ROLLUP (decision)
"""
# rate -> the count it is a mean over (None: responses, only on rows where the rate is defined)
RATES: dict[str, str | None] = {
    "acceptance_rate": "acted",
    "mean_edit_similarity": "compared",
    "deflection_rate": None,
    "reopen_rate": None,
    "csat": "rated",
    "escalation_rate": None,
    "mean_score": "scored",
}
DECISIONS = ("sent", "drafted", "escalated")  # the ai_decision enum's order
COUNTS = ("responses", "acted", "compared", "rated", "scored")
TABLE_COLUMNS = {  # column -> (header, format)
    "day": ("day", "{}"),
    "team": ("team", "{}"),
    "category": ("category", "{}"),
    "model": ("model", "{}"),
    "prompt_version": ("prompt", "{}"),
    "decision": ("decision", "{}"),
    "responses": ("n", "{:d}"),
    "acceptance_rate": ("accept", "{:.0%}"),
    "mean_edit_similarity": ("edit_sim", "{:.2f}"),
    "deflection_rate": ("deflect", "{:.0%}"),
    "reopen_rate": ("reopen", "{:.0%}"),
    "csat": ("csat", "{:.2f}"),
    "escalation_rate": ("escal", "{:.0%}"),
    "mean_score": ("score", "{:.2f}"),
    "p50_latency_ms": ("p50_ms", "{:.0f}"),
    "p95_latency_ms": ("p95_ms", "{:.0f}"),
}


@dataclass
class Report:
    rows: list[dict]
    summary: list[dict]
    charts: list[Path]


def effectiveness_rows(conn: psycopg.Connection, *, since: date) -> list[dict]:
    """The view's rows from ``since`` (as of its last refresh), with the team's name."""
    return conn.execute(SELECT_ROWS, (since,)).fetchall()


def rollup(rows: Sequence[dict], *, by: Sequence[str]) -> list[dict]:
    """Group view rows by the ``by`` columns; counts are summed, rates re-weighted exactly."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[tuple(row[k] for k in by)].append(row)
    out = []
    for key, members in sorted(groups.items(), key=lambda kv: tuple(map(str, kv[0]))):
        merged: dict = dict(zip(by, key, strict=True))
        merged |= {c: sum(r[c] for r in members) for c in COUNTS}
        for rate, count in RATES.items():
            pairs = [
                (r[rate], r[count] if count else r["responses"])
                for r in members
                if r[rate] is not None
            ]
            weight = sum(w for _, w in pairs)
            merged[rate] = sum(v * w for v, w in pairs) / weight if weight else None
        out.append(merged)
    return out


def effectiveness_summary(
    conn: psycopg.Connection, *, since: date, refresh: bool = False
) -> list[dict]:
    """One row per decision (sent, drafted, escalated) and a last row 'all': responses,
    acceptance, edit similarity, deflection, reopen, CSAT, escalation, mean score, p50/p95 latency.
    With ``refresh`` the views are refreshed first (otherwise: as of the last scheduled refresh)."""
    if refresh:
        refresh_effectiveness_views(conn)
    rows = effectiveness_rows(conn, since=since)
    by_decision = sorted(
        rollup(rows, by=("decision",)), key=lambda r: DECISIONS.index(r["decision"])
    )
    summary = by_decision + [{"decision": "all"} | r for r in rollup(rows, by=())]
    latency = {r["decision"]: r for r in conn.execute(SELECT_LATENCY, (since,))}
    for row in summary:
        lat = latency.get(str(row["decision"]), {})
        row["p50_latency_ms"], row["p95_latency_ms"] = lat.get("p50"), lat.get("p95")
    return summary


def format_table(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    """A plain fixed-width table; '-' where a rate has no data."""
    columns = [c for c in (columns or TABLE_COLUMNS) if not rows or c in rows[0]]
    cells = [[TABLE_COLUMNS.get(c, (c, "{}"))[0] for c in columns]]
    for row in rows:
        cells.append([_cell(row.get(c), TABLE_COLUMNS.get(c, (c, "{}"))[1]) for c in columns])
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = ("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)) for line in cells)
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: object, fmt: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, str) or fmt == "{}":
        return str(value)[:40]
    return fmt.format(int(value) if fmt == "{:d}" else float(value))


def write_charts(rows: Sequence[dict], *, out_dir: Path) -> list[Path]:
    """trend.png (acceptance, deflection, CSAT by day) and by_category.png. Agg backend: no display,
    no global pyplot state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out_dir.mkdir(parents=True, exist_ok=True)
    days = rollup(rows, by=("day",))
    fig = Figure(figsize=(9, 5.5))
    FigureCanvasAgg(fig)
    rates, csat = fig.subplots(2, 1, sharex=True)
    x = [d["day"] for d in days]
    for rate, label in (("acceptance_rate", "acceptance"), ("deflection_rate", "deflection")):
        rates.plot(x, [_nan(d[rate]) for d in days], marker="o", label=label)
    rates.set_ylim(0, 1.05)
    rates.set_ylabel("rate")
    rates.legend(loc="lower left")
    rates.set_title("AI effectiveness by day")
    csat.plot(x, [_nan(d["csat"]) for d in days], marker="o", color="tab:green", label="CSAT")
    csat.set_ylim(1, 5.1)
    csat.set_ylabel("CSAT (1-5)")
    if x:  # a day of margin each side; a single day would otherwise span years
        from matplotlib.dates import ConciseDateFormatter, DayLocator

        csat.set_xlim(min(x) - timedelta(days=1), max(x) + timedelta(days=1))
        locator = DayLocator(interval=max(1, (max(x) - min(x)).days // 8))  # whole days only
        csat.xaxis.set_major_locator(locator)
        csat.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    trend = out_dir / "trend.png"
    fig.savefig(trend, dpi=110, bbox_inches="tight")

    cats = sorted(rollup(rows, by=("category",)), key=lambda r: r["responses"])
    fig = Figure(figsize=(9, 1.5 + 0.45 * max(len(cats), 1)))
    FigureCanvasAgg(fig)
    count_ax, rate_ax = fig.subplots(1, 2, sharey=True)
    names = [str(c["category"]) for c in cats]
    count_ax.barh(names, [c["responses"] for c in cats], color="tab:gray")
    count_ax.set_xlabel("AI responses")
    height = 0.27
    for i, (rate, label) in enumerate(
        (
            ("acceptance_rate", "acceptance"),
            ("deflection_rate", "deflection"),
            ("mean_score", "score"),
        )
    ):
        pos = [n + (i - 1) * height for n in range(len(cats))]
        rate_ax.barh(pos, [_nan(c[rate]) for c in cats], height=height, label=label)
    rate_ax.set_xlim(0, 1)
    rate_ax.legend(loc="lower right", fontsize="small")
    fig.suptitle("AI effectiveness by category")
    by_category = out_dir / "by_category.png"
    fig.savefig(by_category, dpi=110, bbox_inches="tight")
    return [trend, by_category]


def _nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def build_report(
    conn: psycopg.Connection, *, since: date, out_dir: Path, refresh: bool = True
) -> Report:
    """Refresh (by default), read, summarise, and write the charts plus ``effectiveness.csv``."""
    summary = effectiveness_summary(conn, since=since, refresh=refresh)
    rows = effectiveness_rows(conn, since=since)
    charts = write_charts(rows, out_dir=out_dir)
    csv_path = out_dir / "effectiveness.csv"
    _write_csv(rows, csv_path)
    return Report(rows=rows, summary=summary, charts=[*charts, csv_path])


def _write_csv(rows: Sequence[dict], path: Path) -> None:
    import csv

    columns = ["day", "team", *(c for c in rows[0] if c not in ("day", "team"))] if rows else []
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
