"""Answer-unit vectors at ingestion: what a draft weighs by meaning, embedded once.

The drafter re-orders its best candidate sentences by how close each one (with its title and
headings: ``units.probe_text``) is in meaning to the question. Embedding those probes at question
time was most of an offline suggestion's draft stage on a large help centre (a question rarely
meets the same article twice there, so a per-process cache does not help). After each ingestion
run every unit of the source's live articles has its vector in ``kb_unit_vectors``, keyed by model
and the probe's SHA-256; only probes not stored yet are embedded (a second run embeds nothing, an
edited article only its changed units), so a database ingested before this table existed is
filled by its next run. ``pipeline.articles.stored_unit_vectors`` is the lookup.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import psycopg

from autocrm.pipeline.embedder import Embedder
from autocrm.pipeline.units import parse_article, probe_text, units

SELECT_LIVE_ARTICLES = """
SELECT title, body FROM kb_articles
 WHERE status <> 'archived' AND (%(source)s::text IS NULL OR source = %(source)s)
"""
SELECT_STORED = """
SELECT probe_sha256 FROM kb_unit_vectors WHERE model = %s AND probe_sha256 = ANY(%s)
"""
INSERT_VECTORS = """
INSERT INTO kb_unit_vectors (model, probe_sha256, embedding)
SELECT %s, h, e FROM unnest(%s::bytea[], %s::vector[]) AS t(h, e)
ON CONFLICT (model, probe_sha256) DO NOTHING
"""
BATCH = 256  # probes embedded and written together (one commit each: a kill loses one batch)
LOOKUP_BATCH = 10_000


@dataclass
class UnitVectorCounts:
    embedded: int = 0
    reused: int = 0


def probe_key(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def article_probes(title: str, body: str) -> list[str]:
    """Every answer unit's probe text of one article, as a draft builds them."""
    sections = parse_article(body, title)
    return [probe_text(title, sections, unit) for unit in units(sections)]


def store_unit_vectors(
    conn: psycopg.Connection,
    *,
    embedder: Embedder,
    source: str | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> UnitVectorCounts:
    """Embed and store the probes of ``source``'s live articles (all sources: None) that are not
    stored yet. ``conn`` must be autocommit: each batch commits on its own."""
    probes: dict[bytes, str] = {}
    for row in conn.execute(SELECT_LIVE_ARTICLES, {"source": source}):
        for text in article_probes(row["title"], row["body"] or ""):
            probes.setdefault(probe_key(text), text)
    keys = list(probes)
    stored: set[bytes] = set()
    for start in range(0, len(keys), LOOKUP_BATCH):
        batch = keys[start : start + LOOKUP_BATCH]
        rows = conn.execute(SELECT_STORED, (embedder.name, batch))
        stored |= {bytes(r["probe_sha256"]) for r in rows}
    missing = [k for k in keys if k not in stored]
    counts = UnitVectorCounts(reused=len(stored))
    batches = range(0, len(missing), BATCH)
    for start in progress(batches) if progress else batches:
        batch = missing[start : start + BATCH]
        vectors = embedder.embed([probes[k] for k in batch])
        conn.execute(INSERT_VECTORS, (embedder.name, batch, list(vectors)))
        counts.embedded += len(batch)
    return counts
