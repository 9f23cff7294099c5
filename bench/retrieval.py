"""Retrieval latency and HNSW recall at 10k/100k chunks (``autocrm bench retrieval``).

Corpus: the AWS help centre (``aws-docs-qa/kb``), read and chunked exactly like ingestion
(``read_source`` + ``Chunker``) and embedded once with the configured embedder; texts and vectors
are cached under ``cache_dir/<key>`` (key: corpus files, chunking settings, model), written in parts
so an interrupted embedding resumes. A size below the base corpus takes whole pages in a seeded
random order (the last page cut to the exact size). A size above it adds copies of pages, each copy
a new article whose chunk texts are perturbed (about 5% of words dropped, 5% swapped with a
neighbour, one word replaced by a random token) and whose vectors are the base vector plus gaussian
noise (sigma per dimension, renormalised): **copies' vectors are perturbed, not re-embedded**.

Load: articles by INSERT, chunks by binary COPY (``ingest.store.COPY_CHUNKS``) in batches (the BM25
statement triggers fire on COPY), the HNSW index (``ingest.store.create_hnsw_index``) built after the load,
then ANALYZE, a BM25-only pass, and VACUUM ANALYZE (the covering postings index only serves
index-only scans once the visibility map is set). Timings: ``time.perf_counter()`` around the call.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
from psycopg import sql

from autocrm.bench.stats import markdown_table, percentile, percentiles
from autocrm.core.settings import Settings
from autocrm.db import migrate
from autocrm.db.connect import (
    connect,
    database_note,
    drop_database,
    ensure_database,
    set_database_note,
)
from autocrm.db.server import with_database
from autocrm.ingest import store
from autocrm.ingest.answer_units import store_answer_units
from autocrm.ingest.chunking import Chunker
from autocrm.ingest.sources import SourceItem, read_source
from autocrm.pipeline.embedder import Embedder
from autocrm.pipeline.retrieval import ef_search_for
from autocrm.pipeline.units import probe_key

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
KB_DIR = SHARED / "aws-docs-qa" / "kb"
QUESTIONS = SHARED / "aws-docs-qa" / "questions_dev.tsv"
MTRAG_TASKS = SHARED / "mtrag" / "tasks_dev.jsonl"
SOURCE = "bench:aws-docs-qa"
CORPUS_SEED = 0  # page order of the cached corpus
EMBED_PART = 1024  # chunks per cached vector part (resume granularity)
LOAD_BATCH = 5000  # chunks per COPY statement / transaction
READY = "autocrm bench: ready "
WARMUP = 20
TARGETS = {"retrieve_p95_ms": 20.0, "recall_at_10": 0.95, "suggestion_p95_ms": 100.0}

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# ---------------------------------------------------------------------------- base corpus


@dataclass
class BaseCorpus:
    key: str
    pages: list[dict]  # {external_id, title, body}
    chunks: list[dict]  # {page, position, heading_path, context, content, token_count}
    vectors: np.ndarray  # (len(chunks), dim) float32, L2-normalised

    def chunks_by_page(self) -> list[list[int]]:
        out: list[list[int]] = [[] for _ in self.pages]
        for i, c in enumerate(self.chunks):
            out[c["page"]].append(i)
        return out


def corpus_key(*, kb_dir: Path, settings: Settings, model: str) -> str:
    digest = hashlib.sha256()
    for path in sorted(kb_dir.glob("*/doc_source/*.md")):
        digest.update(path.relative_to(kb_dir).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(json.dumps(settings.chunking.model_dump(), sort_keys=True).encode())
    digest.update(f"{model}|{settings.embedding_backend}|{CORPUS_SEED}".encode())
    return digest.hexdigest()[:16]


def model_file_name(embedder: Embedder) -> str:
    """A file name for a model's cached vectors."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", embedder.name)


def load_base_corpus(
    *,
    cache_dir: Path,
    embedder: Embedder,
    settings: Settings,
    kb_dir: Path = KB_DIR,
    max_pages: int | None = None,
    progress: Progress = _quiet,
) -> BaseCorpus:
    """Chunk and embed the help centre once; later calls read the cache. Pages are cached in a
    seeded random order and embedded in that order, so ``max_pages`` (a prefix: a sample of every
    guide) needs only the first parts, and a later full run embeds the rest."""
    key = corpus_key(kb_dir=kb_dir, settings=settings, model=embedder.name)
    root = cache_dir / key
    root.mkdir(parents=True, exist_ok=True)
    pages_file, chunks_file, vectors_file = (
        root / "pages.jsonl",
        root / "chunks.jsonl",
        root / "vectors.npy",
    )
    if not chunks_file.exists():
        progress(f"chunking {kb_dir} (cache {root})")
        pages, chunks = _chunk_corpus(kb_dir, embedder, settings)
        _write_jsonl(pages_file, pages)
        _write_jsonl(chunks_file, chunks)  # last: its presence means both are complete
    pages, all_chunks = _read_jsonl(pages_file), _read_jsonl(chunks_file)
    chunks = all_chunks
    if max_pages is not None and max_pages < len(pages):
        pages = pages[:max_pages]
        chunks = [c for c in all_chunks if c["page"] < max_pages]  # pages are in order
        key = f"{key}p{max_pages}"
    if vectors_file.exists():
        vectors = np.load(vectors_file)[: len(chunks)]
    else:
        (root / "parts").mkdir(exist_ok=True)
        started, done_before = time.perf_counter(), None
        for start in range(0, len(chunks), EMBED_PART):
            part = root / "parts" / f"{start:07d}.npy"
            if part.exists():
                continue
            done_before = start if done_before is None else done_before
            texts = [_embed_text(c) for c in all_chunks[start : start + EMBED_PART]]
            np.save(part, embedder.embed(texts))  # whole parts: a later full run reuses them
            rate = (start + len(texts) - done_before) / (time.perf_counter() - started)
            progress(f"embedded {start + len(texts)}/{len(chunks)} chunks ({rate:.1f}/s)")
        parts = [root / "parts" / f"{s:07d}.npy" for s in range(0, len(chunks), EMBED_PART)]
        vectors = np.concatenate([np.load(p) for p in parts]).astype(np.float32)[: len(chunks)]
        if max_pages is None:
            np.save(vectors_file, vectors)
    if len(vectors) != len(chunks):
        raise RuntimeError(f"{root}: {len(vectors)} vectors for {len(chunks)} chunks")
    return BaseCorpus(key, pages, chunks, vectors)


def _chunk_corpus(
    kb_dir: Path, embedder: Embedder, settings: Settings
) -> tuple[list[dict], list[dict]]:
    chunker = Chunker(
        settings=settings.chunking,
        count_tokens=embedder.count_tokens,
        max_tokens=embedder.max_tokens,
    )
    items = [
        i
        for i in read_source(kb_dir)
        if isinstance(i, SourceItem) and "/doc_source/" in i.external_id
    ]
    random.Random(CORPUS_SEED).shuffle(items)
    pages: list[dict] = []
    chunks: list[dict] = []
    for item in items:
        page = len(pages)
        pages.append({"external_id": item.external_id, "title": item.title, "body": item.body})
        for c in chunker.chunk(title=item.title, markdown=item.body):
            chunks.append(
                {
                    "page": page,
                    "position": c.position,
                    "heading_path": c.heading_path,
                    "context": c.context,
                    "content": c.content,
                    "token_count": c.token_count,
                }
            )
    return pages, chunks


def _embed_text(chunk: dict) -> str:
    # Same as ingest.chunking.Chunk.embed_text.
    return f"{chunk['context']}\n\n{chunk['content']}" if chunk["context"] else chunk["content"]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


# ---------------------------------------------------------------------------- scaled database


def perturb_text(text: str, rng: random.Random) -> str:
    """~5% of words dropped, ~5% swapped with a neighbour, one replaced by a random token."""
    words = [w for w in text.split() if rng.random() >= 0.05] or text.split() or ["x"]
    for _ in range(max(1, len(words) // 40)):
        i = rng.randrange(max(1, len(words) - 1))
        words[i : i + 2] = words[i : i + 2][::-1]
    words[rng.randrange(len(words))] = "".join(rng.choices("bcdfghjklmnpqrstvwxz", k=7))
    return " ".join(words)


def perturb_vectors(vectors: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    noisy = vectors + rng.normal(0.0, sigma, vectors.shape).astype(np.float32)
    return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


def plan_pages(
    base: BaseCorpus, *, size: int, seed: int, sigma: float
) -> Iterator[tuple[dict, list[tuple], np.ndarray]]:
    """(article, chunk rows, vectors) per article until exactly ``size`` chunks."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    order = list(range(len(base.pages)))
    rng.shuffle(order)
    by_page, emitted, copy = base.chunks_by_page(), 0, 0
    while emitted < size:
        for page in order:
            ids = by_page[page][: size - emitted]
            if not ids:
                continue
            src = base.pages[page]
            texts = [base.chunks[i]["content"] for i in ids]
            vectors = base.vectors[ids]
            if copy:
                texts = [perturb_text(t, rng) for t in texts]
                vectors = perturb_vectors(vectors, nrng, sigma)
            suffix = f"#copy{copy}" if copy else ""
            article = {
                "id": uuid.uuid4(),
                "external_id": src["external_id"] + suffix,
                "title": src["title"],
                "body": src["body"],
            }
            rows = [
                (
                    base.chunks[i]["position"],
                    base.chunks[i]["heading_path"],
                    base.chunks[i]["context"],
                    text,
                    base.chunks[i]["token_count"],
                )
                for i, text in zip(ids, texts, strict=True)
            ]
            yield article, rows, vectors
            emitted += len(ids)
            if emitted >= size:
                return
        copy += 1


INSERT_ARTICLE = """
INSERT INTO kb_articles (id, source, external_id, title, body, status, visibility, content_hash)
VALUES (%(id)s, %(source)s, %(external_id)s, %(title)s, %(body)s, 'published', 'public', %(hash)s)
"""
CHECKS = """
SELECT (SELECT count(*) FROM kb_chunks) AS chunks,
       (SELECT count(*) FROM kb_articles) AS articles,
       (SELECT n_chunks FROM kb_corpus) AS corpus_n_chunks,
       (SELECT count(*) FROM kb_postings) AS postings,
       (SELECT sum(df) FROM kb_terms) AS sum_df,
       (SELECT count(*) FROM kb_terms WHERE df > 0) AS terms,
       (SELECT sum(dl) FROM (SELECT DISTINCT chunk_id, dl FROM kb_postings) d) AS postings_len,
       (SELECT total_len FROM kb_corpus) AS corpus_total_len
"""
VISIBILITY = """
SELECT relname, relpages, relallvisible FROM pg_class
 WHERE relname IN ('kb_postings', 'kb_chunks', 'kb_articles')
"""


def _write_batch(conn: psycopg.Connection, batch: list, model: str) -> None:
    with conn.transaction():
        with conn.cursor() as cur:
            cur.executemany(
                INSERT_ARTICLE,
                [
                    a | {"source": SOURCE, "hash": hashlib.sha256(a["body"].encode()).hexdigest()}
                    for a, _, _ in batch
                ],
            )
        with conn.cursor().copy(store.COPY_CHUNKS) as copy:
            copy.set_types(store.COPY_TYPES)
            for article, rows, vectors in batch:
                for (pos, path, context, content, tokens), vector in zip(
                    rows, vectors, strict=True
                ):
                    chash = hashlib.sha256(f"{model}\n{context}\n\n{content}".encode()).hexdigest()
                    copy.write_row(
                        (article["id"], pos, path, context, content, tokens, chash, vector, model)
                    )


def bench_database(
    *,
    server_url: str,
    base: BaseCorpus,
    size: int,
    model: str,
    seed: int,
    sigma: float,
    on_analyzed: Callable[[str], dict] | None = None,
    progress: Progress = _quiet,
) -> tuple[str, dict]:
    """A database holding ``size`` chunks (reused when a previous run finished it): (url, load)."""
    name = f"bench_{size}_{base.key}_{seed}_{sigma:g}".replace(".", "")
    url = with_database(server_url, name)
    note = database_note(server_url=server_url, name=name) or ""
    if note.startswith(READY):
        progress(f"{size} chunks: reusing database {name}")
        with connect(url, autocommit=True) as conn:
            # The schema (indexes, functions) is part of what is measured: bring it up to date.
            applied = migrate.migrate(conn)
            if applied:
                progress(f"{size} chunks: applied {', '.join(applied)}; VACUUM ANALYZE")
                conn.execute("VACUUM ANALYZE kb_articles, kb_chunks, kb_postings, kb_terms")
        return url, json.loads(note[len(READY) :]) | {"reused": True, "migrated": applied}
    drop_database(server_url=server_url, name=name)
    ensure_database(server_url=server_url, name=name)
    load: dict = {"database": name, "seconds": {}}
    with connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
    with connect(url, autocommit=True) as conn:  # new connection: the vector type exists now
        conn.execute("DROP INDEX IF EXISTS kb_chunks_embedding_hnsw_idx")
        started, batch, n = time.perf_counter(), [], 0
        for page in plan_pages(base, size=size, seed=seed, sigma=sigma):
            batch.append(page)
            if sum(len(p[1]) for p in batch) >= LOAD_BATCH:
                _write_batch(conn, batch, model)
                n += sum(len(p[1]) for p in batch)
                batch = []
                progress(f"{size} chunks: loaded {n} ({n / (time.perf_counter() - started):.0f}/s)")
        if batch:
            _write_batch(conn, batch, model)
        load["seconds"]["copy_with_bm25_triggers"] = time.perf_counter() - started
        started = time.perf_counter()
        progress(f"{size} chunks: building the HNSW index")
        store.create_hnsw_index(conn)
        load["seconds"]["hnsw_build"] = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute(store.ANALYZE)
        load["seconds"]["analyze"] = time.perf_counter() - started
        load["checks"] = {k: int(v or 0) for k, v in conn.execute(CHECKS).fetchone().items()}
        load["before_vacuum"] = {
            "visibility": [dict(r) for r in conn.execute(VISIBILITY)],
            **(on_analyzed(url) if on_analyzed else {}),
        }
        started = time.perf_counter()
        conn.execute("VACUUM ANALYZE kb_articles, kb_chunks, kb_postings, kb_terms")
        load["seconds"]["vacuum_analyze"] = time.perf_counter() - started
        load["after_vacuum"] = {"visibility": [dict(r) for r in conn.execute(VISIBILITY)]}
        load["sizes_mb"] = {
            r["name"]: round(r["bytes"] / 2**20, 1)
            for r in conn.execute(
                "SELECT c.relname AS name, pg_total_relation_size(c.oid) AS bytes FROM pg_class c "
                "WHERE c.relname IN ('kb_chunks', 'kb_postings', 'kb_terms', 'kb_articles', "
                "'kb_chunks_embedding_hnsw_idx', 'kb_postings_impact_idx', 'kb_postings_pkey')"
            )
        }
    checks = load["checks"]
    if (checks["corpus_n_chunks"], checks["sum_df"], checks["corpus_total_len"]) != (
        size,
        checks["postings"],
        checks["postings_len"],
    ) or checks["chunks"] != size:
        raise RuntimeError(f"BM25 statistics disagree with the table: {checks}")
    note = READY + json.dumps(load | {"before_vacuum": {}}, default=str)
    set_database_note(server_url=server_url, name=name, note=note)
    return url, load | {"reused": False}


# ---------------------------------------------------------------------------- queries and timing


@dataclass(frozen=True)
class Query:
    id: str
    text: str


def load_queries(n: int) -> list[Query]:
    """The 50 aws-docs-qa dev questions, then MTRAG cloud/govt last turns, ``n`` in all."""
    with QUESTIONS.open(encoding="utf-8") as handle:
        queries = [Query(r["qid"], r["question"]) for r in csv.DictReader(handle, delimiter="\t")]
    with MTRAG_TASKS.open(encoding="utf-8") as handle:
        for line in handle:
            task = json.loads(line)
            if task.get("domain") in ("cloud", "govt") and task.get("question", "").strip():
                queries.append(Query(f"mtrag:{task['task_id']}", task["question"].strip()))
    seen: set[str] = set()
    unique = [q for q in queries if not (q.text in seen or seen.add(q.text))]
    return unique[:n]


def latency(samples_s: list[float]) -> dict:
    ms = np.asarray(samples_s) * 1000
    return {
        "n": len(ms),
        **percentiles(ms, (50, 95, 99), method="linear"),
        "mean": float(ms.mean()),
        "min": float(ms.min()),
        "max": float(ms.max()),
    }


def timed(fn: Callable[[Query], object], queries: list[Query]) -> tuple[dict, list[float]]:
    """Warm up on the first WARMUP queries, then time each call alone."""
    for q in queries[:WARMUP]:
        fn(q)
    samples = []
    for q in queries:
        started = time.perf_counter()
        fn(q)
        samples.append(time.perf_counter() - started)
    return latency(samples), samples


# The dense candidate query as retrieval runs it (the halfvec HNSW graph, then full-precision
# distances), and the truth it is measured against: exact full-precision search, no index.
DENSE_TOP = """
SELECT id FROM (
    SELECT c.id, c.embedding <=> %(v)s AS dist
      FROM kb_chunks c JOIN kb_articles a ON a.id = c.article_id
     WHERE a.status = 'published' AND a.visibility = 'public' AND c.embedding IS NOT NULL
     ORDER BY c.embedding::halfvec({dim}) <=> %(v)s::halfvec({dim}) LIMIT %(candidates)s) d
 ORDER BY dist, id LIMIT %(k)s
"""
DENSE_EXACT = """
SELECT c.id FROM kb_chunks c JOIN kb_articles a ON a.id = c.article_id
 WHERE a.status = 'published' AND a.visibility = 'public' AND c.embedding IS NOT NULL
 ORDER BY c.embedding <=> %(v)s, c.id LIMIT %(k)s
"""


def hnsw_recall(
    conn: psycopg.Connection,
    vectors: np.ndarray,
    queries: list[Query],
    *,
    candidates: int,
    default_ef: int,
    ef_values: tuple[int, ...] = (100, 200, 400, 800, 1000),
    k: int = 10,
) -> dict:
    """Recall@k of the dense candidate query (HNSW, as in retrieval) against the same query with
    index scans disabled (exact: sequential scan and sort)."""
    params = [{"v": v, "candidates": candidates, "k": k} for v in vectors]
    dense_top = DENSE_TOP.format(dim=vectors.shape[1])
    exact, exact_s = [], []
    for p in params:
        with conn.transaction():
            conn.execute("SET LOCAL enable_indexscan = off")
            started = time.perf_counter()
            exact.append([r["id"] for r in conn.execute(DENSE_EXACT, p)])
            exact_s.append(time.perf_counter() - started)
    plan = "\n".join(
        r["QUERY PLAN"] for r in conn.execute("EXPLAIN (COSTS OFF) " + dense_top, params[0])
    )
    out: dict = {
        "k": k,
        "candidates": candidates,
        "exact_latency_ms": latency(exact_s),
        "uses_hnsw": "kb_chunks_embedding_hnsw_idx" in plan,
        "by_ef_search": {},
    }
    current = default_ef  # what retrieve() uses for this corpus (pipeline.retrieval.ef_search_for)
    for ef in sorted({*ef_values, current}):
        recalls, times = [], []
        with conn.transaction():
            conn.execute(sql.SQL("SET LOCAL hnsw.ef_search = {}").format(sql.Literal(ef)))
            for p, truth in zip(params, exact, strict=True):
                started = time.perf_counter()
                got = [r["id"] for r in conn.execute(dense_top, p)]
                times.append(time.perf_counter() - started)
                recalls.append(len(set(got) & set(truth)) / max(1, len(truth)))
        worst = int(np.argmin(recalls))
        mtrag = np.array([q.id.startswith("mtrag:") for q in queries])
        out["by_ef_search"][ef] = {
            "mean": float(np.mean(recalls)),
            # aws-docs-qa questions are answered by this corpus; most MTRAG ones are off-topic
            # (IBM Cloud, US government), where every distance is alike and HNSW recall drops.
            "mean_aws_docs_qa": float(np.mean(np.asarray(recalls)[~mtrag]))
            if (~mtrag).any()
            else None,
            "mean_mtrag": float(np.mean(np.asarray(recalls)[mtrag])) if mtrag.any() else None,
            "min": float(recalls[worst]),
            "worst_query": queries[worst].text,
            "below_0_9": int(sum(r < 0.9 for r in recalls)),
            "latency_ms": latency(times),
        }
    out |= {"ef_search": current, **out["by_ef_search"][current]}
    return out


# ---------------------------------------------------------------------------- one size, all figures

CUSTOMER = """
INSERT INTO users (email, full_name, role) VALUES ('bench-customer@example.com', 'Bench Customer',
    'customer') ON CONFLICT (email) DO UPDATE SET full_name = EXCLUDED.full_name RETURNING id
"""
SERVER_SETTINGS = (
    "shared_buffers",
    "work_mem",
    "jit",
    "hnsw.ef_search",
    "hnsw.iterative_scan",
    "max_parallel_workers_per_gather",
    "random_page_cost",
)


class ProbeVectors:
    """The base corpus's answer-unit vectors, embedded once into the bench cache: what
    ``store_answer_units`` (the step each ``autocrm ingest`` ends with) writes into every bench
    database. Keyed by the probe's SHA-256, as the table is; an Embedder to that function."""

    def __init__(self, path: Path, embedder: Embedder):
        self.path, self.embedder = path, embedder
        self.name, self.dim = embedder.name, embedder.dim
        self.known: dict[bytes, np.ndarray] = {}
        if path.exists():
            with np.load(path) as saved:
                self.known = dict(zip(map(bytes, saved["keys"]), saved["vectors"], strict=True))
        self.fresh = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        keys = [probe_key(t) for t in texts]
        missing = [(k, t) for k, t in zip(keys, texts, strict=True) if k not in self.known]
        if missing:
            vectors = self.embedder.embed([t for _, t in missing])
            self.known |= dict(zip((k for k, _ in missing), vectors, strict=True))
            self.fresh += len(missing)
        return np.stack([self.known[k] for k in keys])

    def save(self) -> None:
        if self.fresh:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            keys = np.array(list(self.known), dtype="S32")
            np.savez(self.path, keys=keys, vectors=np.stack(list(self.known.values())))
            self.fresh = 0


@dataclass
class Bench:
    embedder: Embedder
    settings: Settings
    queries: list[Query]
    vectors: np.ndarray
    tickets: int = 50
    probes: ProbeVectors | None = None  # answer-unit vectors for each database

    def retrieval(self, mode: str, **overrides: object):
        return self.settings.retrieval.model_copy(update={"mode": mode, **overrides})

    def retrieve_fn(
        self, conn: psycopg.Connection, mode: str, **overrides: object
    ) -> Callable[[Query], object]:
        from autocrm.pipeline.retrieval import retrieve

        vec = {q.id: v for q, v in zip(self.queries, self.vectors, strict=True)}
        rs = self.retrieval(mode, **overrides)
        return lambda q: retrieve(
            conn, query=q.text, query_vector=vec[q.id] if mode != "bm25" else None, settings=rs
        )


def bm25_agreement(conn: psycopg.Connection, bench: Bench) -> dict:
    """How much of the exhaustive BM25 top 10 the default settings return (champion lists engage
    above ``bm25_exhaustive_postings``), per query; and how many queries took that path."""
    from autocrm.pipeline.retrieval import retrieve

    default = bench.retrieval("bm25").model_copy(update={"top_k": 10})
    exhaustive = default.model_copy(update={"bm25_exhaustive_postings": 2**31 - 1})
    overlaps, pruned = [], 0
    for q in bench.queries:
        fast = [
            c.chunk_id for c in retrieve(conn, query=q.text, query_vector=None, settings=default)
        ]
        full = [
            c.chunk_id for c in retrieve(conn, query=q.text, query_vector=None, settings=exhaustive)
        ]
        postings = conn.execute(
            "SELECT coalesce(sum(df), 0) AS n FROM kb_terms "
            "WHERE term = ANY (tsvector_to_array(to_tsvector('english', %s)))",
            (q.text,),
        ).fetchone()["n"]
        pruned += postings > default.bm25_exhaustive_postings
        if full:
            overlaps.append(len(set(fast) & set(full)) / len(full))
    return {
        "queries": len(bench.queries),
        "champion_path": pruned,
        "overlap_at_10_mean": float(np.mean(overlaps)) if overlaps else None,
        "overlap_at_10_p10": percentile(overlaps, 10, method="linear") if overlaps else None,
    }


def explain_call(conn: psycopg.Connection, call: Callable[[], object]) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the statements ``call`` runs, via auto_explain notices, so the
    plan is that of the real ``retrieve`` call and its real parameters."""
    notes: list[str] = []

    def handler(diag: psycopg.errors.Diagnostic) -> None:
        notes.append((diag.message_primary or "").split("\n", 1)[-1])

    conn.add_notice_handler(handler)
    try:
        conn.execute(
            "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; "
            "SET auto_explain.log_analyze = on; SET auto_explain.log_buffers = on; "
            "SET client_min_messages = log"
        )
        call()
    finally:
        conn.execute("SET auto_explain.log_min_duration = -1; RESET client_min_messages")
        conn.remove_notice_handler(handler)
    return "\n".join(re.sub(r"(?s)Query Text:.*?\n(?=Query Parameters:)", "", n) for n in notes)


def bench_size(
    *,
    server_url: str,
    base: BaseCorpus,
    size: int,
    bench: Bench,
    seed: int,
    sigma: float,
    progress: Progress = _quiet,
) -> dict:
    from autocrm.db.connect import connect as open_conn
    from autocrm.pipeline.answer import answer_ticket, prepare_answer

    def bm25_before_vacuum(url: str) -> dict:
        with open_conn(url, autocommit=True) as conn:
            return {"bm25_ms": timed(bench.retrieve_fn(conn, "bm25"), bench.queries)[0]}

    url, load = bench_database(
        server_url=server_url,
        base=base,
        size=size,
        model=bench.embedder.name,
        seed=seed,
        sigma=sigma,
        on_analyzed=bm25_before_vacuum,
        progress=progress,
    )
    result: dict = {"chunks": size, "load": load, "latency_ms": {}, "slowest": {}, "plans": {}}
    if bench.probes is not None:  # as `autocrm ingest` leaves a database: answer units stored
        progress(f"{size} chunks: answer units (structures, vectors)")
        started = time.perf_counter()
        with open_conn(url, autocommit=True) as conn:
            counts = store_answer_units(conn, embedder=bench.probes)
        bench.probes.save()
        result["unit_vectors"] = {
            "stored": counts.embedded,
            "already_stored": counts.reused,
            "structures": counts.structures,
            "seconds": time.perf_counter() - started,
        }
    with open_conn(url, autocommit=True) as conn:
        result["server"] = {s: conn.execute(f"SHOW {s}").fetchone()[s] for s in SERVER_SETTINGS}
        # Steady state: one untimed hybrid pass over every query first, so the buffer cache holds
        # what the queries read. Without it the first measure (hybrid) paid for loading the
        # postings and graph pages that the later ones (dense, BM25) then found in memory.
        progress(f"{size} chunks: warming the buffer cache")
        warm = bench.retrieve_fn(conn, "hybrid")
        for q in bench.queries:
            warm(q)
        for mode in ("hybrid", "dense", "bm25"):
            progress(f"{size} chunks: timing retrieve ({mode})")
            fn = bench.retrieve_fn(conn, mode)
            stats, samples = timed(fn, bench.queries)
            result["latency_ms"][f"retrieve_{mode}"] = stats
            slow = bench.queries[int(np.argmax(samples))]
            result["slowest"][mode] = {"query": slow.text, "ms": max(samples) * 1000}
            result["plans"][mode] = explain_call(conn, lambda fn=fn, slow=slow: fn(slow))
        # Whether retrieve's own (possibly generic, prepared) plan used the HNSW index.
        result["retrieve_dense_uses_hnsw"] = (
            "kb_chunks_embedding_hnsw_idx" in result["plans"]["dense"]
        )
        # What the proximity pass costs: BM25 without it, in the same run.
        plain = bench.retrieve_fn(conn, "bm25", bm25_proximity=0)
        result["latency_ms"]["retrieve_bm25_no_proximity"] = timed(plain, bench.queries)[0]
        hybrid = bench.retrieval("hybrid")

        def with_embedding(q: Query) -> object:
            from autocrm.pipeline.retrieval import retrieve

            vector = bench.embedder.embed([q.text])[0]
            return retrieve(conn, query=q.text, query_vector=vector, settings=hybrid)

        progress(f"{size} chunks: timing retrieve with query embedding, offline suggestions")
        result["latency_ms"]["retrieve_hybrid_with_embedding"] = timed(
            with_embedding, bench.queries
        )[0]
        stages: dict[str, list[float]] = {}

        def suggestion(q: Query) -> object:
            prepared = prepare_answer(
                conn,
                subject=q.text[:500],
                description="",
                thread=[],
                customer_name=None,
                kind="suggestion",
                embedder=bench.embedder,
                chat_model=None,
                settings=bench.settings,
            )
            for stage, ms in prepared.timer.as_ms().items():
                stages.setdefault(stage, []).append(ms)
            return prepared

        result["latency_ms"]["offline_suggestion"] = timed(suggestion, bench.queries)[0]
        result["suggestion_stage_mean_ms"] = {s: float(np.mean(v)) for s, v in stages.items()}
        if bench.tickets:
            asked = bench.queries[: bench.tickets]
            customer = conn.execute(CUSTOMER).fetchone()["id"]
            ids = iter(
                [
                    conn.execute(
                        "INSERT INTO tickets (subject, description, customer_id) "
                        "VALUES (%s, '', %s) RETURNING id",
                        (q.text[:500], customer),
                    ).fetchone()["id"]
                    for q in asked[:WARMUP] + asked
                ]
            )

            def stored(_: Query) -> object:
                return answer_ticket(
                    conn,
                    ticket_id=next(ids),
                    kind="suggestion",
                    embedder=bench.embedder,
                    chat_model=None,
                    settings=bench.settings,
                )

            result["latency_ms"]["stored_suggestion"] = timed(stored, asked)[0]
        progress(f"{size} chunks: BM25 top-10 against exhaustive scoring")
        result["bm25_agreement"] = bm25_agreement(conn, bench)
        progress(f"{size} chunks: HNSW recall@10 against exact search")
        result["recall"] = hnsw_recall(
            conn,
            bench.vectors,
            bench.queries,
            candidates=hybrid.candidates,
            default_ef=hybrid.ef_search or ef_search_for(size),
        )
        result["latency_ms"]["exact_dense_top10"] = result["recall"]["exact_latency_ms"]
    before = load.get("before_vacuum", {}).get("bm25_ms")
    if before:
        result["latency_ms"]["retrieve_bm25_before_vacuum"] = before
    result["targets"] = targets(result)
    return result


def targets(result: dict) -> list[dict]:
    lat = result["latency_ms"]
    rows = [
        (
            "retrieve p95, hybrid, excl. query embedding",
            lat["retrieve_hybrid"]["p95"],
            "ms",
            TARGETS["retrieve_p95_ms"],
            True,
        ),
        ("HNSW recall@10 (mean)", result["recall"]["mean"], "", TARGETS["recall_at_10"], False),
        (
            "offline suggestion p95 (prepare_answer)",
            lat["offline_suggestion"]["p95"],
            "ms",
            TARGETS["suggestion_p95_ms"],
            True,
        ),
    ]
    return [
        {
            "target": name,
            "value": value,
            "unit": unit,
            "limit": limit,
            "pass": value <= limit if at_most else value >= limit,
            "at_most": at_most,
        }
        for name, value, unit, limit, at_most in rows
    ]


# ------------------------------------------------------------------------ the run and its report


def run_bench(
    *,
    sizes: list[int],
    n_queries: int,
    embedder: Embedder,
    settings: Settings,
    cache_dir: Path,
    keep_dir: Path | None = None,
    max_pages: int | None = None,
    tickets: int = 50,
    seed: int = 7,
    sigma: float = 0.02,
    progress: Progress = _quiet,
) -> dict:
    """Every figure for every size, on an embedded server in a temp dir (or ``keep_dir``)."""
    import shutil
    import tempfile

    from autocrm.db.server import start_embedded, stop_embedded

    base = load_base_corpus(
        cache_dir=cache_dir,
        embedder=embedder,
        settings=settings,
        max_pages=max_pages,
        progress=progress,
    )
    queries = load_queries(n_queries)
    bench = Bench(
        embedder,
        settings,
        queries,
        embedder.embed([q.text for q in queries]),
        tickets,
        ProbeVectors(cache_dir / "unit-vectors" / f"{model_file_name(embedder)}.npz", embedder),
    )
    root = keep_dir or Path(tempfile.mkdtemp(prefix="autocrm-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # the embedded server may run as its own OS user
    load_before = os.getloadavg()
    try:
        server_url = start_embedded(root / "pgdata")
        results = [
            bench_size(
                server_url=server_url,
                base=base,
                size=size,
                bench=bench,
                seed=seed,
                sigma=sigma,
                progress=progress,
            )
            for size in sizes
        ]
    finally:
        stop_embedded(root / "pgdata")
        if keep_dir is None:
            shutil.rmtree(root, ignore_errors=True)
    return {
        "corpus": {
            "source": str(KB_DIR),
            "cache_key": base.key,
            "pages": len(base.pages),
            "base_chunks": len(base.chunks),
            "embedding_model": embedder.name,
            "chunking": settings.chunking.model_dump(),
            "copies": "perturbed text; vectors = "
            f"base + N(0, {sigma}) per dim, renormalised (not re-embedded)",
            "seed": seed,
        },
        "queries": {
            "n": len(queries),
            "aws_docs_qa": sum(not q.id.startswith("mtrag:") for q in queries),
            "mtrag_cloud_govt": sum(q.id.startswith("mtrag:") for q in queries),
            "warmup_per_measure": WARMUP,
            "warm_pass": "one untimed hybrid call per query before the first measure",
        },
        "retrieval_settings": settings.retrieval.model_dump(),
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
        },
        "sizes": results,
    }


ROWS = [
    ("retrieve_hybrid", "retrieve, hybrid (query pre-embedded)"),
    ("retrieve_dense", "retrieve, dense only"),
    ("retrieve_bm25", "retrieve, BM25 only"),
    ("retrieve_bm25_no_proximity", "retrieve, BM25 only, without the proximity pass"),
    ("retrieve_bm25_before_vacuum", "retrieve, BM25 only, before VACUUM (ANALYZE only)"),
    ("retrieve_hybrid_with_embedding", "retrieve, hybrid, incl. query embedding"),
    ("offline_suggestion", "offline suggestion (`prepare_answer`, no LLM)"),
    ("stored_suggestion", "stored suggestion (`answer_ticket`, no LLM)"),
    ("exact_dense_top10", "exact dense top-10 (index off; recall baseline)"),
]


def fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def render_markdown(report: dict) -> str:
    sizes = report["sizes"]
    lines = markdown_table(
        ("chunks", "measure", "p50 ms", "p95 ms", "p99 ms", "mean ms", "min–max ms"),
        (
            (f"{res['chunks']:,}", label, f"{s['p50']:.1f}", f"{s['p95']:.1f}", f"{s['p99']:.1f}",
             f"{s['mean']:.1f}", f"{s['min']:.1f}–{s['max']:.1f}")
            for res in sizes
            for key, label in ROWS
            if (s := res["latency_ms"].get(key))
        ),
        align="rlrrrrr",
    )  # fmt: skip
    lines += [
        "",
        *markdown_table(
            ("chunks", "hnsw.ef_search", "recall@10 mean", "aws-docs-qa", "MTRAG", "worst query",
             "queries < 0.9", "dense top-10 p50 / p95 ms"),
            (
                (f"{res['chunks']:,}",
                 f"{ef}{' (default)' if int(ef) == res['recall']['ef_search'] else ''}",
                 f"{r['mean']:.3f}", fmt(r["mean_aws_docs_qa"]), fmt(r["mean_mtrag"]),
                 f"{r['min']:.1f}", r["below_0_9"],
                 f"{r['latency_ms']['p50']:.1f} / {r['latency_ms']['p95']:.1f}")
                for res in sizes
                for ef, r in sorted(res["recall"]["by_ef_search"].items(), key=lambda x: int(x[0]))
            ),
            align="rrrrrrrr",
        ),
        "",
        *markdown_table(
            ("chunks", "BM25 queries over the exhaustive budget",
             "top-10 overlap with exhaustive BM25, mean / p10"),
            (
                (f"{res['chunks']:,}", f"{a['champion_path']} of {a['queries']}",
                 f"{fmt(a['overlap_at_10_mean'])} / {fmt(a['overlap_at_10_p10'])}")
                for res in sizes
                if (a := res.get("bm25_agreement"))
            ),
            align="rrr",
        ),
        "",
        *markdown_table(
            ("chunks", "target", "measured", "limit", "result"),
            (
                (f"{res['chunks']:,}", t["target"], f"{t['value']:.3f}{t['unit']}",
                 f"{'≤' if t['at_most'] else '≥'} {t['limit']:g}{t['unit']}",
                 "PASS" if t["pass"] else "FAIL")
                for res in sizes
                for t in res["targets"]
            ),
            align="rlrrl",
        ),
    ]  # fmt: skip
    lines += [
        "",
        *markdown_table(
            (
                "chunks",
                "offline suggestion, mean ms per stage",
                "answer units stored (vectors, article structures)",
            ),
            (
                (
                    f"{res['chunks']:,}",
                    ", ".join(
                        f"{k} {v:.1f}" for k, v in res.get("suggestion_stage_mean_ms", {}).items()
                    ),
                    f"{u['stored'] + u['already_stored']:,}, {u.get('structures', 0):,} "
                    f"({u['seconds']:.0f} s)"
                    if (u := res.get("unit_vectors"))
                    else "none",
                )
                for res in sizes
            ),
            align="rll",
        ),
    ]
    corpus, q, m = report["corpus"], report["queries"], report["machine"]
    lines += [
        "",
        f"Corpus: {corpus['pages']} AWS help-centre pages → {corpus['base_chunks']:,} chunks "
        f"embedded with {corpus['embedding_model']}; larger sizes add copies of pages with "
        f"{corpus['copies']}. Queries: {q['n']} ({q['aws_docs_qa']} aws-docs-qa dev questions, "
        f"{q['mtrag_cloud_govt']} MTRAG cloud/govt last turns), {q['warmup_per_measure']} warm-up "
        f"calls per measure after one untimed hybrid pass over all queries. Loaded by binary COPY, HNSW built after the load, then VACUUM "
        f"ANALYZE. {m['cpus']} CPUs, load average {m['loadavg_before'][0]:.1f} before / "
        f"{m['loadavg_after'][0]:.1f} after (shared machine).",
    ]
    return "\n".join(lines)
