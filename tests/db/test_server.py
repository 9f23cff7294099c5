"""The embedded server's tuning and the per-connection settings, on the real server."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autocrm.core.errors import DataDirError
from autocrm.core.settings import default_data_dir
from autocrm.db.connect import connect, make_pool
from autocrm.db.server import start_embedded, stop_embedded

REPO = Path(__file__).resolve().parents[2]


def test_the_embedded_server_runs_with_its_buffer_cache(server_url, pg_root):
    with connect(server_url, autocommit=True, vector=False) as conn:
        assert conn.execute("SHOW shared_buffers").fetchone()["shared_buffers"] == "1GB"
    # Starting it again (another command) finds it tuned: no second restart, same URL.
    assert start_embedded(pg_root / "pgdata") == server_url


def test_connections_and_pooled_connections_never_jit_compile(shared_db):
    with connect(shared_db, autocommit=True) as conn:
        assert conn.execute("SHOW jit").fetchone()["jit"] == "off"
        assert conn.execute("SHOW hnsw.ef_search").fetchone()["hnsw.ef_search"] == "100"
    with make_pool(shared_db, min_size=1, max_size=1) as pool, pool.connection() as conn:
        assert conn.execute("SHOW jit").fetchone()["jit"] == "off"


def test_commands_starting_a_new_data_dir_at_once_all_get_the_tuned_server():
    """serve and worker started together on a fresh data dir: one initdb, one restart to apply
    the settings, and no process sees the server half-restarted."""
    root = Path(tempfile.mkdtemp(prefix="autocrm-test-race-"))
    root.chmod(0o755)
    script = (
        "import sys, psycopg; from pathlib import Path; from db.server import start_embedded; "
        "url = start_embedded(Path(sys.argv[1])); "
        "print(psycopg.connect(url).execute('SHOW shared_buffers').fetchone()[0])"
    )
    try:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", script, str(root / "pgdata")],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        results = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], [err[-500:] for _, err in results]
        assert [out.strip() for out, _ in results] == ["1GB"] * 3
    finally:
        stop_embedded(root / "pgdata")
        shutil.rmtree(root, ignore_errors=True)


def test_a_data_dir_with_whitespace_gets_a_clear_error_and_is_never_the_default(
    tmp_path, monkeypatch
):
    with pytest.raises(DataDirError, match="contains whitespace; set AUTOCRM_DATA_DIR"):
        start_embedded(tmp_path / "Application Support" / "pgdata")
    assert not (tmp_path / "Application Support").exists()
    monkeypatch.setattr(
        "platformdirs.user_data_dir", lambda app: f"/Users/x/Library/Application Support/{app}"
    )
    assert default_data_dir() == Path.home() / ".local" / "share" / "autocrm"
    monkeypatch.setattr("platformdirs.user_data_dir", lambda app: f"/home/x/.local/share/{app}")
    assert default_data_dir() == Path("/home/x/.local/share/autocrm")
