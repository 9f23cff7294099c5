"""Eval knowledge bases live in their own databases on the same server, one per (KB content,
chunking, embedding model): a second run with the same inputs reuses it and embeds nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from psycopg import sql

from autocrm.settings import ChunkingSettings
from db import migrate
from db.connect import connect, ensure_database
from db.server import with_database
from ingest.job import ingest
from pipeline.embedder import Embedder

READY = "autocrm eval kb: ready"


def content_key(source: Path, *, chunking: ChunkingSettings, model: str) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
    for path in files:
        digest.update(str(path.relative_to(source if source.is_dir() else source.parent)).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(json.dumps(chunking.model_dump(), sort_keys=True).encode())
    digest.update(model.encode())
    return digest.hexdigest()[:16]


def eval_kb_url(
    *, server_url: str, source: Path, chunking: ChunkingSettings, embedder: Embedder, progress=None
) -> tuple[str, bool]:
    """URL of the database holding this KB ingested; (url, reused)."""
    name = f"autocrm_eval_{content_key(source, chunking=chunking, model=embedder.name)}"
    url = with_database(server_url, name)
    with connect(server_url, autocommit=True, vector=False) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') AS note FROM pg_database "
            "WHERE datname = %s",
            (name,),
        ).fetchone()
    if row and row["note"] == READY:
        with connect(url, autocommit=True) as conn:
            migrate.migrate(conn)  # a cached KB follows schema changes (a no-op when current)
        return url, True
    # A half-built one (an interrupted run) is resumed: ingestion is incremental and crash-safe.
    ensure_database(server_url=server_url, name=name)
    with connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
    with connect(url, autocommit=True) as conn:  # anew: the vector type exists only now
        report = ingest(
            conn, source_path=source, embedder=embedder, chunking=chunking, progress=progress
        )
        conn.execute("VACUUM ANALYZE kb_postings")
    if report.failed:
        raise RuntimeError(
            f"eval KB ingestion had {report.failed} failed items: {report.errors[:3]}"
        )
    with connect(server_url, autocommit=True, vector=False) as conn:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(READY))
        )
    return url, False
