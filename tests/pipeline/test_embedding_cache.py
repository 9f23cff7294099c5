"""The shared query-embedding cache on the real database: hits skip the model, keys include the
model, concurrent writers do not collide, old vectors are pruned, and only the service sees it."""

from __future__ import annotations

import threading

import numpy as np
import psycopg
import pytest

from autocrm.core.settings import Settings
from autocrm.db.connect import connect
from autocrm.pipeline.answer import answer_ticket
from autocrm.pipeline.embedding_cache import embed_cached, prune
from tests.builders import make_ticket
from tests.fakes import FakeEmbedder

ETHAN = "22222222-0000-4000-8000-000000000006"


def test_a_second_call_reads_the_vectors_instead_of_running_the_model(conn):
    embedder = FakeEmbedder()
    texts = ["how do I reset my password", "reset password"]
    first, hits = embed_cached(conn, embedder=embedder, texts=texts)
    assert hits == 0 and embedder.calls == [2]
    again, hits = embed_cached(conn, embedder=embedder, texts=texts)
    assert hits == 2 and embedder.calls == [2]  # the model did not run again
    np.testing.assert_allclose(again, first, rtol=1e-6)
    np.testing.assert_allclose(again, embedder.embed(texts), rtol=1e-6)


def test_only_the_missing_texts_are_embedded_and_rows_keep_their_order(conn):
    embedder = FakeEmbedder()
    embed_cached(conn, embedder=embedder, texts=["known text"])
    vectors, hits = embed_cached(conn, embedder=embedder, texts=["new text", "known text"])
    assert hits == 1 and embedder.calls == [1, 1]
    np.testing.assert_allclose(vectors, embedder.embed(["new text", "known text"]), rtol=1e-6)


def test_another_model_never_gets_a_cached_vector(conn):
    embed_cached(conn, embedder=FakeEmbedder(name="model-a"), texts=["same text"])
    other = FakeEmbedder(name="model-b", dim=8)
    vectors, hits = embed_cached(conn, embedder=other, texts=["same text"])
    assert hits == 0 and vectors.shape == (1, 8)


def test_concurrent_writers_of_the_same_text_both_succeed(fresh_db):
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    class Racing(FakeEmbedder):
        def embed(self, texts):
            barrier.wait(timeout=10)  # both have missed the cache: both will insert
            return super().embed(texts)

    def worker() -> None:
        try:
            with connect(fresh_db, autocommit=True) as c:
                embed_cached(c, embedder=Racing(), texts=["a race on one key"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with connect(fresh_db, autocommit=True) as c:
        assert c.execute("SELECT count(*) AS n FROM ai_query_embeddings").fetchone()["n"] == 1


def test_prune_drops_vectors_past_the_ttl(conn):
    embedder = FakeEmbedder()
    embed_cached(conn, embedder=embedder, texts=["old", "recent"])
    conn.execute(
        "UPDATE ai_query_embeddings SET created_at = now() - interval '2 days' "
        "WHERE text_sha256 = sha256('old')"
    )
    assert prune(conn, ttl_hours=24) == 1
    _, hits = embed_cached(conn, embedder=embedder, texts=["old", "recent"])
    assert hits == 1


def test_customers_and_staff_cannot_read_the_cache(conn):
    embed_cached(conn, embedder=FakeEmbedder(), texts=["private ticket text"])
    conn.execute("SET LOCAL ROLE authenticated")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT * FROM ai_query_embeddings")


def _answers(conn, embedder, settings, *, subject: str, description: str) -> list:
    """The auto-reply to a new ticket, then an agent's suggestion on it."""
    ticket = make_ticket(conn, customer_id=ETHAN, subject=subject, description=description)
    return [
        answer_ticket(
            conn,
            ticket_id=ticket["id"],
            kind=kind,
            embedder=embedder,
            chat_model=None,
            settings=settings,
        )
        for kind in ("auto_reply", "suggestion")
    ]


def test_a_suggestion_after_the_auto_reply_reuses_its_vectors(kb_conn, real_embedder):
    first, second = _answers(
        kb_conn,
        real_embedder,
        Settings(),
        subject="Password reset email never arrives",
        description="I asked for a password reset twice and got no email.",
    )
    assert "embed" in first.latency_ms and "embed_cached" not in first.latency_ms
    assert "embed_cached" in second.latency_ms and "embed" not in second.latency_ms
    assert second.query == first.query
    stored = kb_conn.execute(
        "SELECT embedding FROM ai_query_embeddings WHERE model = %s AND text_sha256 = sha256(%s)",
        (real_embedder.name, first.query.encode()),
    ).fetchone()["embedding"]
    np.testing.assert_allclose(stored.to_numpy(), real_embedder.embed([first.query])[0], atol=1e-6)


def test_the_cache_can_be_switched_off(kb_conn, real_embedder):
    settings = Settings()
    settings.generation.reuse_query_embeddings = False
    results = _answers(
        kb_conn, real_embedder, settings, subject="Export my data", description="How do I export?"
    )
    for result in results:
        assert "embed" in result.latency_ms and "embed_cached" not in result.latency_ms
    assert kb_conn.execute("SELECT count(*) AS n FROM ai_query_embeddings").fetchone()["n"] == 0
