"""Eval tooling: compare (paired bootstrap), sweep, production datasets, a user's own JSONL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from autocrm.core.settings import Settings
from autocrm.db.connect import connect
from autocrm.evals.compare import bootstrap_ci, compare_runs
from autocrm.evals.datasets import EvalDataset, load_dataset
from autocrm.evals.production import build_dataset
from autocrm.evals.sweep import parse_grid, sweep, write_sweep
from tests.builders import make_message, make_ticket
from tests.fakes import FakeEmbedder

ETHAN = "22222222-0000-4000-8000-000000000006"


def store_run(conn, name: str, hits: list[float]) -> str:
    run_id = conn.execute(
        "INSERT INTO eval_runs (name, dataset) VALUES (%s, 'x') RETURNING id", (name,)
    ).fetchone()["id"]
    for i, h in enumerate(hits):
        conn.execute(
            "INSERT INTO eval_results (run_id, question_id, question, metrics) "
            "VALUES (%s, %s, %s, %s)",
            (
                run_id,
                f"q{i}",
                f"question {i}",
                json.dumps({"recall@5": h, "mrr@10": h / 2, "action": "sent"}),
            ),
        )
    return str(run_id)


def test_compare_gives_paired_deltas_with_bootstrap_intervals(conn):
    store_run(conn, "base", [0, 0, 1, 1] * 10)
    store_run(conn, "better", [1, 0, 1, 1] * 10)
    result = compare_runs(conn, run_a="base", run_b="better")
    recall = next(d for d in result.deltas if d.metric == "recall@5")
    assert result.paired == 40 and recall.delta == 0.25
    assert 0 < recall.low <= 0.25 <= recall.high  # a clear improvement: CI excludes 0
    assert len(result.changed) == 10 and result.changed[0]["after"]["hit@5"] is True
    assert bootstrap_ci([0.0] * 10) == (0.0, 0.0)


def write_tiny_kb(root: Path) -> Path:
    root.mkdir()
    (root / "reset.md").write_text(
        "# Reset your password\n\nClick Forgot password on the login "
        "page and follow the emailed link."
    )
    (root / "export.md").write_text("# Export data\n\nUse Reports then Export CSV to download.")
    (root / "sso.md").write_text("# SAML single sign-on\n\nConfigure Okta with the metadata URL.")
    return root


def write_questions(path: Path) -> Path:
    rows = [
        {
            "id": "1",
            "user_input": "how do I reset my password",
            "reference": "Forgot password",
            "reference_context_ids": ["reset.md"],
        },
        {
            "id": "2",
            "user_input": "export a CSV of my data",
            "reference": "Export CSV",
            "reference_context_ids": ["export.md"],
            "conversation": [{"speaker": "user", "text": "I need my data"}],
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_sweep_evaluates_every_grid_point(server_url, tmp_path):
    kb = write_tiny_kb(tmp_path / "kb")
    data = load_dataset(str(write_questions(tmp_path / "q.jsonl")), kb=kb, cache_dir=tmp_path)
    from autocrm.cli.eval import apply_overrides

    rows = sweep(
        dataset=data,
        base=Settings(),
        server_url=server_url,
        embedder=FakeEmbedder(),
        grid=parse_grid(["retrieval.mode=bm25,dense,hybrid", "retrieval.rrf_k=30,60"]),
        with_overrides=apply_overrides,
    )
    assert len(rows) == 6 and all(r["recall@5"] == 1.0 for r in rows)
    out = write_sweep(rows, out_dir=tmp_path / "sweep")
    assert (out / "sweep.png").stat().st_size > 1000 and "retrieval.mode=bm25" in (
        out / "sweep.md"
    ).read_text()
    assert isinstance(data, EvalDataset) and data.questions[1].conversation


def test_production_dataset_from_accepted_and_edited_responses(kb_conn, real_embedder, tmp_path):
    from autocrm.pipeline.answer import answer_ticket

    settings = Settings()
    finals = {}
    for action in ("accepted", "edited", "rejected"):
        ticket = make_ticket(
            kb_conn,
            customer_id=ETHAN,
            subject="Password",
            description="How do I reset my password?",
        )
        make_message(
            kb_conn,
            ticket_id=ticket["id"],
            author_id=ETHAN,
            body="How do I reset my password?",
            created_at=datetime.now(UTC) - timedelta(minutes=5),
        )
        result = answer_ticket(
            kb_conn,
            ticket_id=ticket["id"],
            kind="suggestion",
            embedder=real_embedder,
            chat_model=None,
            settings=settings,
        )
        final = "Edited: use Forgot password." if action == "edited" else None
        reason = "incorrect" if action == "rejected" else None
        kb_conn.execute(
            "INSERT INTO ai_feedback (ai_response_id, source, action, final_text, "
            "reason) VALUES (%s, 'agent', %s, %s, %s)",
            (result.response_id, action, final, reason),
        )
        finals[str(result.response_id)] = (action, final or result.text)
    n = build_dataset(
        kb_conn, since=datetime.now(UTC) - timedelta(days=1), out=tmp_path / "p.jsonl"
    )
    rows = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert n == 2 and {r["source"] for r in rows} == {"production:accepted", "production:edited"}
    for row in rows:
        assert row["reference"] == finals[row["id"]][1]
        assert row["user_input"] == "How do I reset my password?" and row["reference_context_ids"]


def test_eval_run_cli_on_a_users_own_dataset(shared_db, tmp_path):
    kb = write_tiny_kb(tmp_path / "kb")
    questions = write_questions(tmp_path / "q.jsonl")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOCRM_")}
    env |= {
        "AUTOCRM_DATABASE_URL": shared_db,
        "HF_HUB_OFFLINE": "1",
    }
    out = subprocess.run(
        [
            str(Path(sys.executable).parent / "autocrm"),
            "eval",
            "run",
            "--dataset",
            str(questions),
            "--kb",
            str(kb),
            "--name",
            "tiny",
            "--json-out",
            str(tmp_path / "s.json"),
            "--report-dir",
            str(tmp_path / "reports"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["questions"] == 2 and summary["recall@5"] == 1.0
    # ragas' offline metrics on the answers: ID-based context recall is exact here
    assert summary["ragas_id_based_context_recall"] == 1.0
    assert (
        0 < summary["ragas_rouge_score"] <= 1
        and 0 < summary["ragas_non_llm_string_similarity"] <= 1
    )
    report = tmp_path / "reports" / "tiny"
    assert {
        "summary.md",
        "summary.json",
        "questions.csv",
        "metrics.png",
        "recall_at_k.png",
        "latency.png",
    } <= {p.name for p in report.iterdir()}
    with connect(env["AUTOCRM_DATABASE_URL"], autocommit=True) as conn:
        run = conn.execute("SELECT * FROM eval_runs WHERE name = 'tiny'").fetchone()
        assert run["git_commit"] and run["settings"]["retrieval"]["mode"] == "hybrid"
        assert (
            conn.execute(
                "SELECT count(*) AS n FROM eval_results WHERE run_id = %s", (run["id"],)
            ).fetchone()["n"]
            == 2
        )
        conn.execute("DELETE FROM eval_runs WHERE id = %s", (run["id"],))


def test_eval_gc_drops_stale_knowledge_bases_only(server_url, shared_db):
    """Stale (unused 40 days, or never stamped) eval KBs go; a fresh one stays, and so does a
    stale one that a session is connected to. The CLI's dry run lists and drops nothing."""
    from autocrm.db.connect import drop_database, ensure_database
    from autocrm.db.server import with_database
    from autocrm.evals.kb import READY, collect_eval_kbs

    now = datetime.now(UTC)
    notes = {
        "autocrm_eval_t_old": f"{READY}; last used {(now - timedelta(days=40)).isoformat()}",
        "autocrm_eval_t_fresh": f"{READY}; last used {(now - timedelta(days=1)).isoformat()}",
        "autocrm_eval_t_busy": f"{READY}; last used {(now - timedelta(days=40)).isoformat()}",
        "autocrm_eval_t_nostamp": READY,
    }
    for name, note in notes.items():
        ensure_database(server_url=server_url, name=name)
        with connect(server_url, autocommit=True, vector=False) as conn:
            conn.execute(f"COMMENT ON DATABASE {name} IS '{note}'")

    def existing() -> set[str]:
        with connect(server_url, autocommit=True, vector=False) as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE 'autocrm_eval_t_%'"
            )
            return {r["datname"] for r in rows}

    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOCRM_")}
    env |= {"AUTOCRM_DATABASE_URL": shared_db, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [str(Path(sys.executable).parent / "autocrm"), "eval", "gc", "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "would drop  autocrm_eval_t_old" in out.stdout
    assert "kept  autocrm_eval_t_fresh" in out.stdout
    assert existing() == set(notes)

    with connect(with_database(server_url, "autocrm_eval_t_busy"), vector=False):
        result = collect_eval_kbs(server_url=server_url, older_than=timedelta(days=30))
    mine = {kb.name for kb in result.dropped if kb.name in notes}
    assert mine == {"autocrm_eval_t_old", "autocrm_eval_t_nostamp"}
    assert [kb.name for kb in result.in_use if kb.name in notes] == ["autocrm_eval_t_busy"]
    assert existing() == {"autocrm_eval_t_fresh", "autocrm_eval_t_busy"}
    for name in ("autocrm_eval_t_fresh", "autocrm_eval_t_busy"):
        drop_database(server_url=server_url, name=name)
