"""Eval knowledge bases live in their own databases on the same server, one per (KB content,
chunking, embedding model): a second run with the same inputs reuses it and embeds nothing. Each
one's database comment says whether it is ready and when it was last used, so that ``autocrm eval
gc`` can drop the stale ones."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from autocrm.core.settings import ChunkingSettings
from autocrm.db import migrate
from autocrm.db.connect import connect, database_note, ensure_database, set_database_note
from autocrm.db.server import with_database
from autocrm.ingest.answer_units import store_answer_units
from autocrm.ingest.job import IngestError, ingest
from autocrm.pipeline.embedder import Embedder

READY = "autocrm eval kb: ready"
BUILDING = "autocrm eval kb: building"
PREFIX = "autocrm_eval_"
LIST_EVAL_KBS = r"""
SELECT datname AS name, pg_database_size(oid) AS size_bytes,
       shobj_description(oid, 'pg_database') AS note
  FROM pg_database WHERE datname LIKE 'autocrm\_eval\_%' ORDER BY datname
"""


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
    name = f"{PREFIX}{content_key(source, chunking=chunking, model=embedder.name)}"
    url = with_database(server_url, name)
    if (database_note(server_url=server_url, name=name) or "").startswith(READY):
        with connect(url, autocommit=True) as conn:
            migrate.migrate(conn)  # a cached KB follows schema changes (a no-op when current)
            # … and has its answer-unit vectors (one built before they were stored: once)
            store_answer_units(conn, embedder=embedder)
        _mark(server_url, name, READY)
        return url, True
    # A half-built one (an interrupted run) is resumed: ingestion is incremental and crash-safe.
    ensure_database(server_url=server_url, name=name)
    _mark(server_url, name, BUILDING)
    with connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
    with connect(url, autocommit=True) as conn:  # anew: the vector type exists only now
        report = ingest(
            conn, source_path=source, embedder=embedder, chunking=chunking, progress=progress
        )
        conn.execute("VACUUM ANALYZE kb_postings")
    if report.failed:
        raise IngestError(
            f"eval KB ingestion had {report.failed} failed items: {report.errors[:3]}"
        )
    _mark(server_url, name, READY)
    return url, False


def _mark(server_url: str, name: str, state: str) -> None:
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    set_database_note(server_url=server_url, name=name, note=f"{state}; last used {stamp}")


@dataclass(frozen=True)
class EvalKB:
    name: str
    size_bytes: int
    ready: bool
    last_used: datetime | None  # None: built before last-use stamps, or not by us

    @classmethod
    def from_row(cls, row: dict) -> EvalKB:
        note = row["note"] or ""
        _, _, stamp = note.partition("; last used ")
        try:
            last_used = datetime.fromisoformat(stamp) if stamp else None
        except ValueError:
            last_used = None
        return cls(row["name"], row["size_bytes"], note.startswith(READY), last_used)


@dataclass(frozen=True)
class Collected:
    dropped: list[EvalKB]
    in_use: list[EvalKB]  # stale, but a session was connected: kept
    kept: list[EvalKB]


def collect_eval_kbs(
    *, server_url: str, older_than: timedelta, dry_run: bool = False, now: datetime | None = None
) -> Collected:
    """Drop the eval KB databases not used for ``older_than`` (those without a stamp count as
    stale). Never forced: one that a run is using (or building) stays."""
    cutoff = (now or datetime.now(UTC)) - older_than
    dropped, in_use, kept = [], [], []
    with connect(server_url, autocommit=True, vector=False) as conn:
        for kb in [EvalKB.from_row(r) for r in conn.execute(LIST_EVAL_KBS)]:
            if kb.last_used is not None and kb.last_used >= cutoff:
                kept.append(kb)
                continue
            if not dry_run:
                try:
                    conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(kb.name)))
                except psycopg.errors.ObjectInUse:
                    in_use.append(kb)
                    continue
            dropped.append(kb)
    return Collected(dropped, in_use, kept)
