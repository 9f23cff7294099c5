"""`autocrm --org NAME …`: one's own help centre in a database of its own, apart from the demo's
(the schema has no organisation column: a database is an organisation)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocrm.cli.main import app
from autocrm.core.errors import InvalidInput
from autocrm.db.connect import connect, drop_database
from autocrm.db.server import with_database

AUTOCRM = str(Path(sys.executable).parent / "autocrm")
ARTICLE = """# Exporting your workspace

Open **Settings → Data → Export workspace** and click **Start export**. The ZIP of CSV files is
emailed to the workspace owner within 15 minutes.
"""
COUNT_ARTICLES = "SELECT count(*) AS n FROM kb_articles WHERE source LIKE 'dir:%'"


def run(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOCRM_")}
    env |= {"AUTOCRM_DATABASE_URL": url, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([AUTOCRM, *args], env=env, capture_output=True, text=True, timeout=240)


@pytest.fixture
def org(server_url: str) -> Iterator[str]:
    name = f"t{uuid.uuid4().hex[:8]}"
    yield name
    drop_database(server_url=server_url, name=f"autocrm_org_{name}")


def test_org_ingest_goes_to_its_own_database_and_other_commands_follow(
    tmp_path: Path, fresh_db: str, server_url: str, org: str
) -> None:
    kb = tmp_path / "help-centre"
    kb.mkdir()
    (kb / "export.md").write_text(ARTICLE)
    first = run(fresh_db, "--org", org, "ingest", str(kb))
    assert first.returncode == 0, first.stderr
    assert f"organisation '{org}': new database autocrm_org_{org}, schema created" in first.stderr
    assert "1 new" in first.stdout
    assert f'next: autocrm --org {org} ask "' in first.stdout

    with connect(with_database(server_url, f"autocrm_org_{org}"), autocommit=True) as conn:
        assert conn.execute(COUNT_ARTICLES).fetchone()["n"] == 1
    with connect(fresh_db, autocommit=True) as conn:  # the default database did not get it
        assert conn.execute(COUNT_ARTICLES).fetchone()["n"] == 0

    again = run(fresh_db, "ingest", str(kb), "--org", org.upper())  # the command's own --org
    assert again.returncode == 0, again.stderr
    assert "new database" not in again.stderr and "1 unchanged" in again.stdout

    asked = run(fresh_db, "--org", org, "ask", "How do I export my workspace?")
    assert asked.returncode == 0, asked.stderr
    assert "Exporting your workspace" in asked.stdout and "retrieved: export.md" in asked.stdout


@pytest.mark.parametrize("name", ["-x", "a b", "x" * 41, "ünï"])
def test_a_bad_org_name_is_refused_before_anything_opens(name: str) -> None:
    result = CliRunner().invoke(
        app,
        ["--org", name, "tickets", "list"],
        env={"AUTOCRM_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x", "AUTOCRM_ORG": None},
    )
    assert isinstance(result.exception, InvalidInput), result.output
    assert "use 1-40 lowercase letters, digits, '-' or '_'" in str(result.exception)


def test_a_help_page_with_org_creates_nothing(fresh_db: str, server_url: str, org: str) -> None:
    result = run(fresh_db, "--org", org, "ingest", "--help")
    assert result.returncode == 0 and "--org" in result.stdout, result.stderr
    with connect(server_url, autocommit=True, vector=False) as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (f"autocrm_org_{org}",)
        ).fetchone()
    assert found is None
