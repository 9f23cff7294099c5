"""Category by embedding similarity: the ticket against a centroid of each category's texts.

A category's texts are its name and description and the titles of its published articles, read
from the database on every call; their centroids are cached per process by those texts, so a new
or edited category, or a newly published article, is a new key and nothing goes stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import psycopg

if TYPE_CHECKING:
    from autocrm.pipeline.embedder import Embedder

# Published articles only: drafts may describe things that do not exist yet. Internal articles count
# (their titles never leave the server; they describe what the category covers just as well).
CATEGORY_TEXTS_SQL = """
SELECT c.slug, c.name, coalesce(c.description, '') AS description,
       coalesce(array_agg(a.title ORDER BY a.title) FILTER (WHERE a.id IS NOT NULL),
                '{}') AS titles
  FROM kb_categories c
  LEFT JOIN kb_articles a ON a.category_id = c.id AND a.status = 'published'
 GROUP BY c.id
 ORDER BY c.position, c.slug
"""

# No category is given below this cosine similarity: the ticket is about none of them.
MIN_CATEGORY_SIMILARITY = 0.15
# A best-vs-second margin this large means full confidence; confidence grows linearly up to it.
FULL_CONFIDENCE_MARGIN = 0.15

_CENTROID_CACHE_SIZE = 8


@dataclass(frozen=True)
class Centroids:
    slugs: tuple[str, ...]
    matrix: np.ndarray  # (len(slugs), dim), rows L2-normalised


# Keyed by the embedder and the category rows themselves (slug, name, description, article titles).
_centroids: dict[tuple, Centroids] = {}


def category_rows(conn: psycopg.Connection) -> list[dict]:
    return conn.execute(CATEGORY_TEXTS_SQL).fetchall()


def category_centroids(rows: list[dict], embedder: Embedder) -> Centroids:
    key = (
        embedder.name,
        embedder.dim,
        tuple((r["slug"], r["name"], r["description"], tuple(r["titles"])) for r in rows),
    )
    cached = _centroids.get(key)
    if cached is not None:
        return cached
    texts: list[str] = []
    owners: list[int] = []
    for i, row in enumerate(rows):
        for text in [f"{row['name']}: {row['description']}", *row["titles"]]:
            texts.append(text)
            owners.append(i)
    vectors = embedder.embed(texts) if texts else np.zeros((0, embedder.dim), np.float32)
    matrix = np.zeros((len(rows), embedder.dim), dtype=np.float32)
    np.add.at(matrix, np.asarray(owners, dtype=np.intp), vectors)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    centroids = Centroids(tuple(r["slug"] for r in rows), matrix / np.where(norms == 0, 1, norms))
    if len(_centroids) >= _CENTROID_CACHE_SIZE:
        _centroids.clear()  # a handful of keys per process at most; no need for LRU bookkeeping
    _centroids[key] = centroids
    return centroids


def classify(vector: np.ndarray, centroids: Centroids) -> tuple[str | None, float, dict]:
    """(category, confidence, signals) from cosine similarity to each category centroid."""
    if not centroids.slugs:
        return None, 0.0, {"category_scores": {}}
    scores = centroids.matrix @ vector
    order = np.argsort(-scores)
    best = float(scores[order[0]])
    second = float(scores[order[1]]) if len(order) > 1 else 0.0
    margin = best - second
    signals = {
        "category_scores": {centroids.slugs[i]: round(float(scores[i]), 4) for i in order},
        "category_margin": round(margin, 4),
    }
    if best < MIN_CATEGORY_SIMILARITY:
        return None, 0.0, signals
    confidence = min(1.0, max(0.0, margin / FULL_CONFIDENCE_MARGIN))
    return centroids.slugs[order[0]], round(confidence, 4), signals
