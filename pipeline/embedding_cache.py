"""Query embeddings shared between processes through ``ai_query_embeddings``.

The worker embeds a new ticket's query to answer it; when an agent asks for a suggestion on that
ticket, the API would embed the very same texts again, and under load the model is the most
expensive step of a suggestion (it competes with the worker for the same cores). Looking the
vectors up costs one primary-key read; a miss embeds as before and stores the vectors for the next
caller. Keys are (model name, SHA-256 of the text), so a model change never serves a stale vector.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import psycopg

from autocrm.pipeline.embedder import Embedder

SELECT_CACHED = """
SELECT text_sha256, embedding FROM ai_query_embeddings
 WHERE model = %s AND text_sha256 = ANY (%s)
"""
INSERT_CACHED = """
INSERT INTO ai_query_embeddings (model, text_sha256, embedding)
SELECT %s, h, e FROM unnest(%s::bytea[], %s::vector[]) AS t(h, e)
ON CONFLICT (model, text_sha256) DO NOTHING
"""
PRUNE = "DELETE FROM ai_query_embeddings WHERE created_at < now() - make_interval(hours => %s)"
# Long enough for an agent to open a ticket the auto-responder handled, short enough to stay small.
TTL_HOURS = 24


def embed_cached(
    conn: psycopg.Connection, *, embedder: Embedder, texts: Sequence[str]
) -> tuple[np.ndarray, int]:
    """Vectors for ``texts`` (rows in order) and how many came from the cache."""
    keys = [hashlib.sha256(t.encode()).digest() for t in texts]
    found = {
        bytes(r["text_sha256"]): r["embedding"].to_numpy()
        for r in conn.execute(SELECT_CACHED, (embedder.name, keys), prepare=True)
    }
    missing = [i for i, key in enumerate(keys) if key not in found]
    vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    if missing:
        fresh = embedder.embed([texts[i] for i in missing])
        for i, vector in zip(missing, fresh, strict=True):
            vectors[i] = vector
        conn.execute(
            INSERT_CACHED, (embedder.name, [keys[i] for i in missing], list(fresh)), prepare=True
        )
    for i, key in enumerate(keys):
        if key in found:
            vectors[i] = found[key]
    return vectors, len(texts) - len(missing)


def prune(conn: psycopg.Connection, *, ttl_hours: int = TTL_HOURS) -> int:
    """Drop vectors older than the TTL; how many went."""
    return conn.execute(PRUNE, (ttl_hours,)).rowcount
