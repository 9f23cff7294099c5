"""kill -9 in the middle of an ingestion, then run again: exactly the right chunks."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.ingest.support import rows, run

WORKER = """
import sys
from pathlib import Path
import autocrm.ingest.job as job
from autocrm.core.settings import ChunkingSettings
from autocrm.db.connect import connect
from tests.fakes import FakeEmbedder
job.GROUP_CHUNKS = 8  # many small commits, so the kill lands between and inside them
with connect(sys.argv[1], autocommit=True) as conn:
    job.ingest(conn, source_path=Path(sys.argv[2]), embedder=FakeEmbedder(delay_s=0.15),
               chunking=ChunkingSettings(chunk_tokens=60, overlap_tokens=8, min_chunk_tokens=4))
"""

STATE = """
SELECT a.external_id, c.position, c.content_hash, c.embedding IS NOT NULL AS has_vector
  FROM kb_chunks c JOIN kb_articles a ON a.id = c.article_id ORDER BY 1, 2
"""


def make_corpus(root: Path, n: int = 40) -> Path:
    root.mkdir()
    for i in range(n):
        sections = "\n\n".join(
            f"## Section {j}\n\n" + " ".join(f"word{i}_{j}_{k}" for k in range(50))
            for j in range(3)
        )
        (root / f"article-{i:03d}.md").write_text(f"# Article {i}\n\n{sections}\n")
    return root


def test_kill_minus_9_then_rerun_gives_exact_chunks(fresh_db, tmp_path, server_url):
    corpus = make_corpus(tmp_path / "kb")
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, fresh_db, str(corpus)],
        cwd=Path(__file__).resolve().parents[2],
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        if (
            rows(fresh_db, "SELECT count(*) AS n FROM kb_articles WHERE source LIKE 'dir:%%'")[0][
                "n"
            ]
            >= 8
        ):
            break
        assert proc.poll() is None, "worker ended before it could be killed"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = rows(fresh_db, "SELECT count(DISTINCT article_id) AS n FROM kb_chunks")[0]["n"]
    assert 0 < partial < 40, "the kill should land mid-run"
    # No article is half-replaced even right after the kill: its chunks are 0..n-1, all embedded.
    for art in rows(
        fresh_db,
        "SELECT article_id, array_agg(position ORDER BY position) AS p, "
        "bool_and(embedding IS NOT NULL) AS ok FROM kb_chunks GROUP BY 1",
    ):
        assert art["p"] == list(range(len(art["p"]))) and art["ok"]

    report = run(fresh_db, corpus)
    assert report.seen == 40 and report.failed == 0
    assert report.new + report.unchanged == 40 and report.unchanged > 0

    # Reference: the same corpus ingested in one clean run into a fresh database.
    clean_db = _clone_empty(server_url)
    try:
        run(clean_db, corpus)
        assert rows(fresh_db, STATE) == rows(clean_db, STATE)
    finally:
        from autocrm.db.connect import drop_database

        drop_database(server_url=server_url, name="crash_reference")
    runs = rows(fresh_db, "SELECT status FROM ingest_runs ORDER BY started_at")
    assert [r["status"] for r in runs] == ["aborted", "finished"]
    index = rows(
        fresh_db, "SELECT 1 FROM pg_indexes WHERE indexname = 'kb_chunks_embedding_hnsw_idx'"
    )
    assert index, "the HNSW index dropped for the bulk load must be back"


def _clone_empty(server_url: str) -> str:
    from autocrm.db.connect import connect, drop_database
    from autocrm.db.server import with_database

    drop_database(server_url=server_url, name="crash_reference")
    with connect(server_url, autocommit=True, vector=False) as conn:
        conn.execute('CREATE DATABASE crash_reference TEMPLATE "autocrm_test_template"')
    return with_database(server_url, "crash_reference")
