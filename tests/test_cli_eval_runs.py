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
