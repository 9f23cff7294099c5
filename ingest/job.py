"""The ingestion job: source → items → chunks → embeddings → ``kb_chunks``, incrementally.

Crash safety: each group of articles is written in one transaction (articles, versions, the full
replacement of their chunks, and their new content hash), so a kill at any moment leaves every
article either fully old or fully new; a re-run skips what was committed by hash and redoes the rest.
Concurrency: a session advisory lock per source; a second run on the same source is refused.
Throughput: a group's embedding runs on one background thread while the main thread writes the
previous group and reads and chunks the next (torch releases the GIL), so the pipeline adds little
to the model's own time (``autocrm bench ingest``: end-to-end / model-only). Stage seconds overlap.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg

from autocrm.core.errors import AlreadyRunning, AutoCRMError
from autocrm.core.settings import ChunkingSettings
from autocrm.core.timing import StageTimer
from autocrm.ingest import store
from autocrm.ingest.answer_units import store_answer_units
from autocrm.ingest.chunking import Chunker
from autocrm.ingest.normalize import content_hash
from autocrm.ingest.sources import ItemError, SourceItem, describe, read_source
from autocrm.pipeline.embedder import Embedder

GROUP_CHUNKS = 512  # chunks embedded (and articles committed) together: big enough to batch well

START_RUN = """
INSERT INTO ingest_runs (source, embedding_model, settings) VALUES (%s, %s, %s) RETURNING id
"""
ABORT_STALE_RUNS = """
UPDATE ingest_runs SET status = 'aborted', finished_at = now()
 WHERE source = %s AND status = 'running'
"""
FINISH_RUN = """
UPDATE ingest_runs SET status = %(status)s, finished_at = now(), items_seen = %(seen)s,
       items_new = %(new)s, items_updated = %(updated)s, items_unchanged = %(unchanged)s,
       items_archived = %(archived)s, items_failed = %(failed)s,
       chunks_embedded = %(embedded)s, chunks_reused = %(reused)s,
       stage_seconds = %(stages)s, errors = %(errors)s, error = %(error)s
 WHERE id = %(id)s
"""
SELECT_DB_ARTICLES = """
SELECT a.source, a.external_id, a.title, a.body, a.locale, a.tags, a.status::text AS status,
       a.visibility::text AS visibility, a.source_url, a.metadata, k.slug AS category
  FROM kb_articles a LEFT JOIN kb_categories k ON k.id = a.category_id
 WHERE a.status <> 'archived'
 ORDER BY a.source, a.external_id
"""


class IngestError(AutoCRMError):
    """The run cannot proceed (model mismatch, wrong dimension, unreadable source)."""


@dataclass
class IngestReport:
    run_id: str | None
    source: str
    seen: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    archived: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    tokens_embedded: int = 0
    units_embedded: int = 0  # answer-unit vectors (ingest/answer_units.py)
    units_reused: int = 0
    structures_stored: int = 0  # articles parsed into answer units (ingest/answer_units.py)
    errors: list[ItemError] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return len(self.errors)

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0


@dataclass
class _Job:
    conn: psycopg.Connection
    source: str
    embedder: Embedder
    chunker: Chunker
    reembed: bool
    report: IngestReport
    timer: StageTimer
    existing: dict[str, dict]
    pending: list[store.PreparedArticle] = field(default_factory=list)
    # The group being embedded on the background thread, written by the next flush() or drain().
    inflight: tuple[list[store.PreparedArticle], Future] | None = None
    encoder: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="embed")
    )

    def handle(self, item: SourceItem) -> None:
        with self.timer.stage("parse"):
            digest = content_hash(title=item.title, body=item.body)
            old = self.existing.get(item.external_id)
        if old and old["content_hash"] == digest and not self.reembed:
            if _same_metadata(old, item):
                self.report.unchanged += 1
            else:
                with self.timer.stage("write"), self.conn.transaction():
                    store.upsert_article(
                        self.conn, source=self.source, item=item, content_hash=digest
                    )
                self.report.updated += 1
            return
        with self.timer.stage("chunk"):
            chunks = self.chunker.chunk(title=item.title, markdown=item.body)
            hashes = [c.content_hash(self.embedder.name) for c in chunks]
        self.pending.append(store.PreparedArticle(item, digest, chunks, hashes))
        if sum(len(p.chunks) for p in self.pending) >= GROUP_CHUNKS:
            self.flush()

    def flush(self) -> None:
        """Start embedding the pending group, then write the group embedded before it."""
        if self.pending:
            group, self.pending = self.pending, []
            started = (group, self.encoder.submit(self._embed, group, self._reusable(group)))
        else:
            started = None
        previous, self.inflight = self.inflight, started
        if previous:
            self._write(*previous)

    def drain(self) -> None:
        """Embed and write everything still pending; stop the background thread."""
        self.flush()
        self.flush()
        self.encoder.shutdown(wait=True)

    def _write(self, group: list[store.PreparedArticle], embedded: Future) -> None:
        with self.timer.stage("embed_wait"):
            self.timer.seconds["embed"] += embedded.result()  # re-raises an embedding error
        with self.timer.stage("write"):
            try:
                with self.conn.transaction():
                    store.write_articles(
                        self.conn, source=self.source, articles=group, model=self.embedder.name
                    )
            except psycopg.Error:
                # One bad article must not sink its group: retry one by one to isolate it.
                for art in group:
                    self._write_one(art)
                return
        for art in group:
            self._count_written(art)

    def _write_one(self, art: store.PreparedArticle) -> None:
        try:
            with self.conn.transaction():
                store.write_articles(
                    self.conn, source=self.source, articles=[art], model=self.embedder.name
                )
        except psycopg.Error as exc:
            self.report.errors.append(ItemError(art.item.external_id, f"database: {exc}".strip()))
            return
        self._count_written(art)

    def _count_written(self, art: store.PreparedArticle) -> None:
        if art.item.external_id in self.existing:
            self.report.updated += 1
        else:
            self.report.new += 1

    def _reusable(self, group: list[store.PreparedArticle]) -> dict:
        """Stored vectors of chunks whose text did not change (main thread: it uses the conn)."""
        if self.reembed:
            return {}
        ids = [
            self.existing[a.item.external_id]["id"]
            for a in group
            if a.item.external_id in self.existing
        ]
        with self.timer.stage("write"):
            return store.reusable_vectors(self.conn, article_ids=ids, model=self.embedder.name)

    def _embed(self, group: list[store.PreparedArticle], reuse: dict) -> float:
        """On the background thread: embed the group's new chunk texts; returns the seconds."""
        started = time.perf_counter()
        todo = {
            h: c.embed_text
            for a in group
            for c, h in zip(a.chunks, a.chunk_hashes, strict=True)
            if h not in reuse
        }
        vectors = self.embedder.embed(list(todo.values()))
        fresh = dict(zip(todo, vectors, strict=True))
        self.report.chunks_embedded += len(todo)
        self.report.tokens_embedded += sum(
            c.token_count
            for a in group
            for c, h in zip(a.chunks, a.chunk_hashes, strict=True)
            if h in todo
        )
        for art in group:
            # (0, dim) for an article with no chunk text (a heading alone): stored with no chunks.
            art.vectors = np.array(
                [fresh[h] if h in fresh else reuse[h].to_numpy() for h in art.chunk_hashes],
                dtype=np.float32,
            ).reshape(len(art.chunks), self.embedder.dim)
            self.report.chunks_reused += sum(1 for h in art.chunk_hashes if h not in fresh)
        return time.perf_counter() - started


def _same_metadata(old: dict, item: SourceItem) -> bool:
    return (
        old["title"],
        old["status"],
        old["visibility"],
        old["locale"],
        list(old["tags"]),
        old["source_url"],
        old["category"],
    ) == (
        item.title,
        item.status,
        item.visibility,
        item.locale,
        item.tags,
        item.source_url,
        item.category,
    )


def check_model(conn: psycopg.Connection, *, embedder: Embedder, reembed: bool) -> None:
    dim = store.embedding_dimension(conn)
    if dim != embedder.dim:
        raise IngestError(
            f"kb_chunks.embedding is vector({dim}) but model {embedder.name} makes {embedder.dim}-"
            f"dimensional vectors; run `autocrm kb set-dimension {embedder.dim}` first "
            "(it drops the stored embeddings)"
        )
    others = store.models_in_use(conn) - {embedder.name}
    if others and not reembed:
        raise IngestError(
            f"the knowledge base was embedded with {', '.join(sorted(others))}, not "
            f"{embedder.name}; mixing models breaks retrieval. Re-run with --reembed to re-embed "
            "this source with the new model"
        )


def ingest(
    conn: psycopg.Connection,
    *,
    source_path: Path | None,
    embedder: Embedder,
    chunking: ChunkingSettings,
    from_db: bool = False,
    keep_missing: bool = False,
    reembed: bool = False,
    progress: Callable[[Iterable], Iterable] | None = None,
    answer_units: bool = True,
) -> IngestReport:
    """Run one ingestion. ``conn`` must be autocommit (each group commits on its own).
    ``answer_units``: then store what a draft looks up (ingest/answer_units.py): each changed
    article's parsed structure and its units' vectors not stored yet."""
    if from_db:
        return _ingest_from_db(
            conn,
            embedder=embedder,
            chunking=chunking,
            reembed=reembed,
            progress=progress,
            answer_units=answer_units,
        )
    assert source_path is not None
    source = describe(source_path)
    timer = StageTimer()
    items = read_source(source_path, timer=timer)  # raises SourceError for a missing path
    return _run(
        conn,
        source=source,
        items=items,
        embedder=embedder,
        chunking=chunking,
        archive=not keep_missing,
        reembed=reembed,
        timer=timer,
        progress=progress,
        answer_units=answer_units,
    )


def _ingest_from_db(conn, *, embedder, chunking, reembed, progress, answer_units) -> IngestReport:
    """Articles authored in the app: re-chunk the ones whose content changed since their chunks."""
    rows = conn.execute(SELECT_DB_ARTICLES).fetchall()
    reports = []
    for source in sorted({r["source"] for r in rows}):
        items = [
            SourceItem(
                external_id=r["external_id"],
                title=r["title"],
                body=r["body"],
                locale=r["locale"],
                tags=list(r["tags"]),
                category=r["category"],
                status=r["status"],
                visibility=r["visibility"],
                source_url=r["source_url"],
                metadata=r["metadata"],
            )
            for r in rows
            if r["source"] == source
        ]
        reports.append(
            _run(
                conn,
                source=source,
                items=items,
                embedder=embedder,
                chunking=chunking,
                archive=False,
                reembed=reembed,
                timer=StageTimer(),
                progress=progress,
                stale_only=True,
                answer_units=answer_units,
            )
        )
    total = IngestReport(run_id=reports[-1].run_id if reports else None, source="db")
    for r in reports:
        for name in (
            "seen",
            "new",
            "updated",
            "unchanged",
            "archived",
            "chunks_embedded",
            "chunks_reused",
            "tokens_embedded",
            "units_embedded",
            "units_reused",
            "structures_stored",
        ):
            setattr(total, name, getattr(total, name) + getattr(r, name))
        total.errors += r.errors
        for stage, s in r.stage_seconds.items():
            total.stage_seconds[stage] = total.stage_seconds.get(stage, 0) + s
    return total


def _run(
    conn,
    *,
    source,
    items,
    embedder,
    chunking,
    archive,
    reembed,
    timer,
    progress,
    stale_only: bool = False,
    answer_units: bool = True,
) -> IngestReport:
    lock_key = f"ingest:{source}"
    if not conn.execute("SELECT pg_try_advisory_lock(hashtext(%s)) AS ok", (lock_key,)).fetchone()[
        "ok"
    ]:
        raise AlreadyRunning(f"another ingestion of {source} is running; wait for it to finish")
    try:
        check_model(conn, embedder=embedder, reembed=reembed)
        conn.execute(ABORT_STALE_RUNS, (source,))  # we hold the lock: any 'running' run is dead
        run_id = conn.execute(
            START_RUN, (source, embedder.name, json.dumps(chunking.model_dump()))
        ).fetchone()["id"]
        report = IngestReport(run_id=str(run_id), source=source)
        existing = store.existing_articles(conn, source=source)
        if stale_only:
            # From the DB the stored hash is that of the last ingestion; compare with the content.
            existing = {k: v for k, v in existing.items() if v["content_hash"] is not None}
        job = _Job(
            conn,
            source,
            embedder,
            Chunker(
                settings=chunking,
                count_tokens=embedder.count_tokens,
                max_tokens=embedder.max_tokens,
            ),
            reembed,
            report,
            timer,
            existing,
        )
        bulk = _begin_bulk_load(conn)
        error: str | None = None
        try:
            present = _consume(job, items, progress)
            job.drain()
            if archive:
                with timer.stage("write"), conn.transaction():
                    report.archived = store.archive_missing(conn, source=source, present=present)
            if answer_units:
                with timer.stage("answer_units"):
                    counts = store_answer_units(conn, embedder=embedder, source=source)
                report.units_embedded, report.units_reused = counts.embedded, counts.reused
                report.structures_stored = counts.structures
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            job.encoder.shutdown(wait=True, cancel_futures=True)
            with timer.stage("index"):
                if bulk:
                    store.create_hnsw_index(conn)
                if report.new or report.updated or report.archived:
                    conn.execute(store.ANALYZE)  # fresh statistics keep retrieval plans right
            report.stage_seconds = timer.as_seconds()
            conn.execute(
                FINISH_RUN,
                {
                    "id": run_id,
                    "status": "failed" if error else "finished",
                    "seen": report.seen,
                    "new": report.new,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "archived": report.archived,
                    "failed": report.failed,
                    "embedded": report.chunks_embedded,
                    "reused": report.chunks_reused,
                    "stages": json.dumps(report.stage_seconds),
                    "error": error,
                    "errors": json.dumps(
                        [{"item": e.external_id, "error": e.error} for e in report.errors]
                    ),
                },
            )
        return report
    finally:
        conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (lock_key,))


def _consume(job: _Job, items, progress) -> list[str]:
    present: list[str] = []
    iterator = progress(items) if progress else items
    for item in iterator:
        job.report.seen += 1
        present.append(item.external_id)
        if isinstance(item, ItemError):
            job.report.errors.append(item)
        else:
            job.handle(item)
    return present


def _begin_bulk_load(conn: psycopg.Connection) -> bool:
    """Into an empty table, load without the HNSW index and build it once at the end (faster than
    growing the graph row by row); the next run rebuilds it should this one die in between."""
    empty = conn.execute("SELECT NOT EXISTS (SELECT 1 FROM kb_chunks) AS empty").fetchone()["empty"]
    if empty:
        conn.execute("DROP INDEX IF EXISTS kb_chunks_embedding_hnsw_idx")
        return True
    store.create_hnsw_index(conn)
    return False
