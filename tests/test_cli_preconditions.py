"""Long commands check what can stop them BEFORE they start working: a missing dataset, a stale
schema, a missing source. Each case: exit 2, one line saying what to do, and no work done (no
embedded server started, no eval knowledge base ingested)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from autocrm.db.connect import connect

AUTOCRM = str(Path(sys.executable).parent / "autocrm")
LIST_EVAL_KBS = r"SELECT datname FROM pg_database WHERE datname LIKE 'autocrm\_eval\_%'"


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """``autocrm`` with a data directory of its own under ``tmp_path`` and no configured
    database unless ``env`` gives one."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("AUTOCRM_") and k != "DATABASE_URL"
    }
    clean |= {"AUTOCRM_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1", **env}
    return subprocess.run(
        [AUTOCRM, *args], env=clean, cwd=tmp_path, capture_output=True, text=True, timeout=240
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_eval_run_on_a_dataset_file_that_does_not_exist_fails_at_once(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "questions.jsonl"
    line = one_error_line(run(tmp_path, "eval", "run", "--dataset", str(missing)))
    assert line == (
        f"error: dataset '{missing}': no such file {missing}; give a JSONL file, aws-docs-qa or "
        "mtrag (../shared/datasets), or support-answers (ships with the repo)"
    )
    assert not (tmp_path / "data" / "pgdata").exists(), "a database was started first"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--dataset", "."], "error: dataset '.' is a directory; give a JSONL file of questions"),
        (["--dataset", "q.jsonl"], "error: dataset 'q.jsonl' needs --kb SOURCE"),
        (["--dataset", "q.jsonl", "--kb", "no-kb"], "error: --kb no-kb: no such file or directory"),
    ],
)
def test_eval_run_says_what_a_jsonl_dataset_lacks(
    tmp_path: Path, args: list[str], says: str
) -> None:
    (tmp_path / "q.jsonl").write_text("{}\n")
    line = one_error_line(run(tmp_path, "eval", "run", *args))
    assert line.startswith(says), line
    assert not (tmp_path / "data" / "pgdata").exists()


def test_eval_run_reports_a_stale_schema_before_ingesting(
    tmp_path: Path, server_url: str, empty_db: str
) -> None:
    def eval_kbs() -> set[str]:
        with connect(server_url, autocommit=True, vector=False) as conn:
            return {row["datname"] for row in conn.execute(LIST_EVAL_KBS)}

    before = eval_kbs()
    result = run(
        tmp_path, "eval", "run", "--dataset", "support-answers", AUTOCRM_DATABASE_URL=empty_db
    )
    line = one_error_line(result)
    assert "the database schema is not current; run `autocrm db migrate`" in line
    assert "knowledge base" not in result.stdout and "ingest" not in result.stderr
    assert eval_kbs() == before, "an eval knowledge base was built before the schema check"


def test_ingest_without_a_source_says_what_to_pass(tmp_path: Path) -> None:
    line = one_error_line(run(tmp_path, "ingest"))
    assert line == (
        "error: say what to ingest: a directory of Markdown/HTML/text files (autocrm ingest "
        "./help-centre/), a help-centre export (autocrm ingest export.jsonl), or --from-db to "
        "re-embed the articles edited in the app"
    )
    assert not (tmp_path / "data" / "pgdata").exists()


def test_ingest_of_a_missing_path_says_so_before_anything_starts(tmp_path: Path) -> None:
    line = one_error_line(run(tmp_path, "ingest", "no-such-dir"))
    assert line.startswith("error: no-such-dir does not exist: give a directory of Markdown")
    assert not (tmp_path / "data" / "pgdata").exists()


def test_ingest_reports_a_stale_schema(tmp_path: Path, empty_db: str) -> None:
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "a.md").write_text("# A\n\nSome text.\n")
    result = run(tmp_path, "ingest", str(tmp_path / "kb"), AUTOCRM_DATABASE_URL=empty_db)
    assert "schema is not current" in one_error_line(result)


def test_benchmarks_name_a_missing_shared_file_and_model(tmp_path: Path) -> None:
    from autocrm.cli.checks import require_local_model, require_shared_files
    from autocrm.core.errors import InvalidInput
    from autocrm.core.settings import Settings

    missing = tmp_path / "aws-docs-qa" / "kb"
    with pytest.raises(InvalidInput) as caught:
        require_shared_files(tmp_path, missing, needed_by="bench ingest (the AWS help centre)")
    assert str(caught.value).startswith(
        f"bench ingest (the AWS help centre) needs {missing}, which does not exist"
    )
    with pytest.raises(InvalidInput) as caught:
        require_local_model(Settings(embedding_model=str(tmp_path)))
    assert str(caught.value).startswith(f"no sentence-transformers model at {tmp_path}")
    require_local_model(Settings())  # the installed all-MiniLM-L6-v2 files
