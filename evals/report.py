"""Eval reports: Markdown summary, JSON, a CSV row per question, PNG charts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from autocrm.evals.runner import GROUP_METRICS, RunResult, by_group  # noqa: E402

METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
REPLY_METRICS = (
    "rouge_l",
    "token_recall",
    "first60_recall",
    "reply_words",
    "cut_units",
    "cited_articles",
    "complete",
)


def write_report(run: RunResult, *, out_dir: Path, name: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_text(
        json.dumps(
            {"name": name, "dataset": run.dataset, "run_id": run.run_id, "summary": run.summary},
            indent=2,
        )
    )
    with (out_dir / "questions.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["id", "part", "answerable", "action", "confidence", *METRICS, *REPLY_METRICS]
            + ["top5", "gold", "question", "reply"]
        )
        for r in run.results:
            writer.writerow(
                [
                    r.question.id,
                    r.question.part,
                    r.question.answerable,
                    r.action,
                    f"{r.confidence:.3f}",
                    *(f"{r.metrics[m]:.3f}" for m in METRICS),
                    *(_cell(r.metrics.get(m)) for m in REPLY_METRICS),
                    " ".join(r.ranked[:5]),
                    " ".join(r.question.reference_context_ids),
                    r.question.user_input,
                    r.answer,
                ]
            )
    (out_dir / "replies.md").write_text(_replies(run, name))
    lines = [f"# Eval {name} — {run.dataset}", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in run.summary.items()]
    lines += _by_group(run)
    (out_dir / "summary.md").write_text("\n".join(lines) + "\n")
    _charts(run, out_dir)
    return out_dir


def _by_group(run: RunResult) -> list[str]:
    """The answerable questions' figures by kind, each cell "tune / holdout"."""
    grouped = by_group(run.results)
    if grouped is None:
        return []
    key, groups = grouped
    columns = ("n", *GROUP_METRICS)
    lines = ["", f"## By {key} (answerable questions; each cell: tune / holdout)", ""]
    lines += [f"| {key} | {' | '.join(columns)} |", "|---" * (len(columns) + 1) + "|"]
    for kind, parts in groups.items():
        cells = [
            " / ".join(
                (f"{parts[p][m]}" if m == "n" else f"{parts[p][m]:.2f}")
                if m in parts.get(p, {})
                else "–"
                for p in ("tune", "holdout")
            )
            for m in columns
        ]
        lines.append(f"| {kind} | {' | '.join(cells)} |")
    return lines


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _replies(run: RunResult, name: str) -> str:
    """Every question with its reply whole, as the customer would read it."""
    out = [f"# Replies of {name} — {run.dataset}", ""]
    for r in run.results:
        q = r.question
        facts = r.metrics.get("complete")
        out += [
            f"## {q.id} ({q.part}) — {r.action}, confidence {r.confidence:.2f}"
            + ("" if facts is None else f", complete {facts:g}"),
            "",
            *(f"> {t['speaker']}: {t['text']}" for t in q.conversation),
            f"> **customer:** {q.user_input}",
            "",
            r.answer,
            "",
            f"*retrieved:* {', '.join(r.ranked[:5])} · *gold:* {', '.join(q.reference_context_ids)}",
            "",
        ]
    return "\n".join(out)


def _charts(run: RunResult, out_dir: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(METRICS, [run.summary.get(m, 0) for m in METRICS], color="#4C72B0")
    ax.set_ylim(0, 1)
    ax.set_title(f"{run.dataset}: retrieval")
    fig.tight_layout()
    fig.savefig(out_dir / "metrics.png", dpi=110)
    plt.close(fig)

    answerable = [r for r in run.results if r.question.answerable]
    ks = list(range(1, 11))
    curve = [
        sum(bool(set(r.ranked[:k]) & set(r.question.reference_context_ids)) for r in answerable)
        / max(1, len(answerable))
        for k in ks
    ]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(ks, curve, marker="o")
    ax.set_xlabel("k")
    ax.set_ylabel("hit rate@k")
    ax.set_ylim(0, 1)
    ax.set_title("recall@k curve")
    fig.tight_layout()
    fig.savefig(out_dir / "recall_at_k.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 3.5))
    totals = [sum(r.latency_ms.values()) for r in run.results]
    ax.hist(totals, bins=30, color="#55A868")
    ax.set_xlabel("ms per question (query+embed+retrieve+draft+decide)")
    ax.set_title("latency")
    fig.tight_layout()
    fig.savefig(out_dir / "latency.png", dpi=110)
    plt.close(fig)
