"""Answer units at ingestion: what a draft reads and weighs by meaning, made once.

A draft reads the articles behind the retrieved chunks as answer units (``units.parse_article``)
and re-orders its best candidate sentences by how close each one (with its title and headings:
``units.probe_text``) is in meaning to the question. Parsing a long page (up to 115 ms for one
AWS page) and embedding those probes at question time were most of an offline suggestion's
draft stage on a large help centre, where a question rarely meets the same article twice (a
per-process cache does not help). So each ingestion run ends by storing, for its source's live
articles:

- the parsed structure of each article whose title or body changed since (``kb_article_structures``,
  keyed by article, with the hash of what it was parsed from: ``pipeline.articles.load_sources``
  parses afresh whatever does not match);
- the vector of every unit's probe not stored yet (``kb_unit_vectors``, keyed by model and the
  probe's SHA-256: a second run embeds nothing, an edited article only its changed units;
  ``pipeline.articles.stored_unit_vectors`` is the lookup).

A database ingested before these tables existed is filled by its next run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import psycopg
from psycopg.types.json import Jsonb

from autocrm.pipeline.embedder import Embedder
from autocrm.pipeline.units import (
    Section,
    parse_article,
    probe_key,
    probe_text,
    sections_from_json,
    structure_json,
    structure_key,
    units,
)

SELECT_LIVE_ARTICLES = """
SELECT a.id, a.title, a.body, s.source_sha256, s.structure FROM kb_articles a
  LEFT JOIN kb_article_structures s ON s.article_id = a.id
 WHERE a.status <> 'archived' AND (%(source)s::text IS NULL OR a.source = %(source)s)
"""
UPSERT_STRUCTURES = """
INSERT INTO kb_article_structures (article_id, source_sha256, structure)
SELECT * FROM unnest(%s::uuid[], %s::bytea[], %s::jsonb[])
ON CONFLICT (article_id) DO UPDATE
   SET source_sha256 = EXCLUDED.source_sha256, structure = EXCLUDED.structure
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
class AnswerUnitCounts:
    embedded: int = 0  # unit vectors
    reused: int = 0
    structures: int = 0  # articles parsed and stored


def article_probes(title: str, sections: tuple[Section, ...]) -> list[str]:
    """Every answer unit's probe text of one article, as a draft builds them."""
    return [probe_text(title, sections, unit) for unit in units(sections)]


def store_answer_units(
    conn: psycopg.Connection,
    *,
    embedder: Embedder,
    source: str | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> AnswerUnitCounts:
    """Store the structures of ``source``'s live articles (all sources: None) that changed and
    the vectors of their units' probes not stored yet. ``conn`` must be autocommit: each batch
    commits on its own."""
    probes: dict[bytes, str] = {}
    changed: list[tuple[object, bytes, list]] = []
    counts = AnswerUnitCounts()
    for row in conn.execute(SELECT_LIVE_ARTICLES, {"source": source}).fetchall():
        title, body = row["title"], row["body"] or ""
        key = structure_key(title, body)
        if row["source_sha256"] is not None and bytes(row["source_sha256"]) == key:
            sections = sections_from_json(row["structure"])  # current: no parse needed
        else:
            sections = parse_article(body, title)
            changed.append((row["id"], key, structure_json(sections)))
        for text in article_probes(title, sections):
            probes.setdefault(probe_key(text), text)
    for start in range(0, len(changed), BATCH):
        ids, keys_, structures = zip(*changed[start : start + BATCH], strict=True)
        conn.execute(UPSERT_STRUCTURES, (list(ids), list(keys_), [Jsonb(s) for s in structures]))
    counts.structures = len(changed)
    keys = list(probes)
    stored: set[bytes] = set()
    for start in range(0, len(keys), LOOKUP_BATCH):
        batch = keys[start : start + LOOKUP_BATCH]
        rows = conn.execute(SELECT_STORED, (embedder.name, batch))
        stored |= {bytes(r["probe_sha256"]) for r in rows}
    missing = [k for k in keys if k not in stored]
    counts.reused = len(stored)
    batches = range(0, len(missing), BATCH)
    for start in progress(batches) if progress else batches:
        batch = missing[start : start + BATCH]
        vectors = embedder.embed([probes[k] for k in batch])
        conn.execute(INSERT_VECTORS, (embedder.name, batch, list(vectors)))
        counts.embedded += len(batch)
    return counts
