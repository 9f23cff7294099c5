"""A small grid over pipeline settings, each point a full eval run on the same questions:
one table and one chart. Chunking changes re-ingest the KB (cached per chunking)."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from autocrm.core.settings import Settings  # noqa: E402
from autocrm.db.connect import connect  # noqa: E402
from autocrm.evals.datasets import EvalDataset  # noqa: E402
from autocrm.evals.kb import eval_kb_url  # noqa: E402
from autocrm.evals.runner import run_questions  # noqa: E402

COLUMNS = ("recall@5", "hit@5", "mrr@10", "ndcg@10", "answerable_precision", "auto_send_rate")


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """``["retrieval.mode=bm25,dense,hybrid", "retrieval.rrf_k=30,60"]`` → {key: [values]}."""
    grid = {}
    for item in items:
        key, _, values = item.partition("=")
        grid[key] = [v for v in values.split(",") if v]
    return grid


def sweep(
    *,
    dataset: EvalDataset,
    base: Settings,
    grid: dict[str, list[str]],
    server_url: str,
    embedder,
    with_overrides: Callable[[Settings, list[str]], Settings],
) -> list[dict]:
    rows = []
    for combo in itertools.product(*grid.values()):
        overrides = [f"{k}={v}" for k, v in zip(grid, combo, strict=True)]
        settings = with_overrides(base, overrides)
        settings.retrieval.top_k = max(settings.retrieval.top_k, 10)
        url, _ = eval_kb_url(
            server_url=server_url,
            source=dataset.kb_source,
            chunking=settings.chunking,
            embedder=embedder,
        )
        with connect(url, autocommit=True) as conn:
            run = run_questions(
                conn, dataset=dataset, embedder=embedder, chat_model=None, settings=settings
            )
        rows.append({"point": " ".join(overrides)} | {c: run.summary.get(c) for c in COLUMNS})
    return rows


def write_sweep(rows: list[dict], *, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "sweep.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| point | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    lines += [
        "| "
        + r["point"]
        + " | "
        + " | ".join("" if r[c] is None else f"{r[c]:.3f}" for c in COLUMNS)
        + " |"
        for r in rows
    ]
    (out_dir / "sweep.md").write_text("\n".join(lines) + "\n")
    fig, ax = plt.subplots(figsize=(max(6, len(rows) * 1.1), 4))
    width = 0.38
    xs = range(len(rows))
    ax.bar([x - width / 2 for x in xs], [r["recall@5"] for r in rows], width, label="recall@5")
    ax.bar([x + width / 2 for x in xs], [r["mrr@10"] for r in rows], width, label="MRR@10")
    ax.set_xticks(list(xs), [r["point"].replace(" ", "\n") for r in rows], fontsize=7)
    ax.set_ylim(0, 1)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "sweep.png", dpi=110)
    plt.close(fig)
    return out_dir
