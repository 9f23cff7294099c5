"""The embedded server's tuning and the per-connection settings, on the real server."""

from __future__ import annotations

from db.connect import connect, make_pool
from db.server import start_embedded


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
