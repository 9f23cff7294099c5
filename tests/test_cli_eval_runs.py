"""`autocrm eval runs` lists what `eval compare` and `eval calibrate` take; an unknown run says
how to list them."""

from __future__ import annotations

from typer.testing import CliRunner

from autocrm.cli.main import app
from autocrm.core.errors import NotFound
from autocrm.db.connect import connect


def invoke(url: str, *args: str):
    return CliRunner().invoke(
        app, list(args), env={"AUTOCRM_DATABASE_URL": url, "AUTOCRM_ORG": None}
    )


def test_eval_runs_lists_stored_runs_and_unknown_runs_point_to_it(fresh_db: str) -> None:
    empty = invoke(fresh_db, "eval", "runs")
    assert empty.exit_code == 0, empty.output
    assert empty.output.startswith("no eval runs yet: `autocrm eval run --dataset support-answers`")

    with connect(fresh_db, autocommit=True) as db:
        run_id = db.execute(
            "INSERT INTO eval_runs (name, dataset, split, metrics, status) VALUES "
            "('mtrag-hybrid', 'mtrag', 'dev', '{\"questions\": 40, \"hit@5\": 0.9, "
            "\"mrr@10\": 0.75}', 'finished') RETURNING id"
        ).fetchone()["id"]
    listed = invoke(fresh_db, "eval", "runs")
    assert listed.exit_code == 0, listed.output
    row = listed.output.splitlines()[1]
    assert row.split()[2:6] == ["finished", "40", "0.900", "0.750"], row
    assert row.endswith(f"mtrag-hybrid  (mtrag/dev, id {run_id})")

    unknown = invoke(fresh_db, "eval", "compare", "mtrag-hybrid", "nope")
    assert isinstance(unknown.exception, NotFound)
    assert str(unknown.exception) == (
        "eval run 'nope' not found (give its id or name); `autocrm eval runs` lists the stored runs"
    )


def test_gate_baseline_records_the_complete_tune_replies_and_the_gate_reads_it(
    fresh_db: str, tmp_path
) -> None:
    """`eval gate-baseline RUN` lists the run's complete replies of the tune part (a held-back
    question's outcome is not written down); `kept_complete` is the share still complete."""
    import json

    from autocrm.evals.datasets import load_dataset
    from autocrm.evals.gate import kept_complete

    held = load_dataset("support-answers", split="holdout", cache_dir=tmp_path).questions[0].id

    with connect(fresh_db, autocommit=True) as db:
        runs = {
            name: db.execute(
                "INSERT INTO eval_runs (name, dataset, split, status) "
                "VALUES (%s, %s, 'all', 'finished') RETURNING id",
                (name, dataset),
            ).fetchone()["id"]
            for name, dataset in (("sa-run", "support-answers"), ("m-run", "mtrag"))
        }
        for qid, complete in (("sa-001", 1.0), ("sa-002", 0.0), ("sa-003", 1.0), (held, 1.0)):
            db.execute(
                "INSERT INTO eval_results (run_id, question_id, question, metrics) "
                "VALUES (%s, %s, '', %s)",
                (runs["sa-run"], qid, json.dumps({"complete": complete})),
            )
    out = tmp_path / "gate-complete.json"
    done = invoke(fresh_db, "eval", "gate-baseline", "sa-run", "--out", str(out))
    assert done.exit_code == 0, done.output
    assert json.loads(out.read_text()) == {"run": "sa-run", "complete": ["sa-001", "sa-003"]}
    assert kept_complete({"sa-001", "sa-003", "sa-002"}, baseline=out) == 1.0
    assert kept_complete({"sa-003"}, baseline=out) == 0.5  # sa-001 is no longer complete
    wrong = invoke(fresh_db, "eval", "gate-baseline", "m-run", "--out", str(out))
    assert wrong.exit_code != 0 and "not support-answers" in str(wrong.exception)
