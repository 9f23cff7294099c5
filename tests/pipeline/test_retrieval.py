"""Retrieval on the real database: Okapi BM25 against a reference implementation, fusion, filters."""

from __future__ import annotations

import itertools
import re

import bm25s
import numpy as np
import pytest

from autocrm.core.settings import ChunkingSettings, RetrievalSettings
from autocrm.db.connect import connect
from autocrm.ingest.job import ingest
from autocrm.pipeline.retrieval import SENTENCE_END, retrieve
from tests.fakes import FakeEmbedder
from tests.ingest.support import sample

QUERIES = [
    "maximum number of load balancers per region",
    "encrypt data in transit greengrass",
    "lambda function timeout limit",
    "SageMaker Studio single sign-on",
    "list my channels",
]
# Phrases, sentences (no pair across "?"), a repeated question and a dotted name.
PHRASE_QUERIES = [
    "total storage for all DB instances",
    "How do I stop a DB instance? Stop a DB instance.",
    "What is the maximum function timeout? Lambda quotas",
    "Storage for db.t2.small instances",
]


@pytest.fixture(scope="module")
def aws_db(server_url, template_url, tmp_path_factory):
    """A sample of the AWS help centre ingested once for this module (fake embedder: BM25 tests)."""
    from autocrm.db.connect import drop_database
    from autocrm.db.server import with_database

    name = "retrieval_module"
    drop_database(server_url=server_url, name=name)
    with connect(server_url, autocommit=True, vector=False) as conn:
        conn.execute(f'CREATE DATABASE {name} TEMPLATE "autocrm_test_template"')
    url = with_database(server_url, name)
    root, _ = sample(tmp_path_factory.mktemp("aws"), questions=20, distractors=60)
    with connect(url, autocommit=True) as conn:
        ingest(conn, source_path=root, embedder=FakeEmbedder(), chunking=ChunkingSettings())
    yield url
    drop_database(server_url=server_url, name=name)


@pytest.fixture(scope="module")
def reference(aws_db):
    """bm25s over the same tokens (Postgres' english analyzer) and each chunk's term positions."""
    with connect(aws_db, autocommit=True) as conn:
        docs = conn.execute("""
            SELECT c.id, array_agg(l.lexeme ORDER BY l.lexeme) AS lexemes,
                   array_agg(array_to_string(l.positions, ',') ORDER BY l.lexeme) AS positions
              FROM kb_chunks c, unnest(c.fts) l GROUP BY c.id ORDER BY c.id""").fetchall()
    ids = [d["id"] for d in docs]
    positions = [
        {
            lex: {int(p) for p in ps.split(",")}
            for lex, ps in zip(d["lexemes"], d["positions"], strict=True)
        }
        for d in docs
    ]
    corpus = [[lex for lex, ps in doc.items() for _ in ps] for doc in positions]
    bm25 = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    bm25.index(corpus, show_progress=False)
    return ids, positions, corpus, bm25


def _query_lexemes(conn, text: str) -> list[tuple[int, str]]:
    """The text's lexemes in order, with their positions (stop words keep their places)."""
    rows = conn.execute(
        "SELECT l.lexeme, p FROM unnest(to_tsvector('english', %s)) l, unnest(l.positions) p",
        (text,),
    ).fetchall()
    return sorted((r["p"], r["lexeme"]) for r in rows)


def _query_phrases(conn, query: str, known) -> set[tuple[str, str, int]]:
    """Neighbouring known terms of each sentence of the query, and their distance."""
    phrases = set()
    for sentence in re.split(SENTENCE_END, query):
        if sentence and sentence.strip():
            lexemes = [(p, t) for p, t in _query_lexemes(conn, sentence) if known(t)]
            phrases |= {(a, b, pb - pa) for (pa, a), (pb, b) in itertools.pairwise(lexemes)}
    return {(a, b, gap) for a, b, gap in phrases if a != b}


def test_bm25_matches_reference_implementation(aws_db, reference):
    """Same tokens, same k1/b, Lucene idf: with the proximity pass off, bm25s must agree."""
    ids, _, corpus, bm25 = reference
    settings = RetrievalSettings(
        mode="bm25", top_k=10, candidates=10, per_article=100, visibility="all", bm25_proximity=0
    )
    with connect(aws_db, autocommit=True) as conn:
        for query in QUERIES:
            tokens = [t for _, t in _query_lexemes(conn, query) if any(t in d for d in corpus)]
            scores = bm25.get_scores(tokens)
            expected = [ids[i] for i in np.argsort(-scores, kind="stable")[:10] if scores[i] > 0]
            ours = retrieve(conn, query=query, query_vector=None, settings=settings)
            assert [c.chunk_id for c in ours] == expected, query
            # Lucene's tf term lacks Okapi's (k1 + 1) factor: scores differ by exactly that.
            for chunk in ours:
                expected_score = 2.2 * scores[ids.index(chunk.chunk_id)]
                assert chunk.bm25_score == pytest.approx(expected_score, rel=1e-4)


def test_bm25_proximity_matches_reference(aws_db, reference):
    """The proximity pass: BM25's candidates gain weight x the rarer term's idf for each pair of
    neighbouring query terms they hold at the query's distance, and are re-ranked. Recomputed here
    from the chunks' term positions, it must give the same order; the reported score stays plain."""
    ids, positions, corpus, bm25 = reference
    weight, candidates = 1.5, 30
    settings = RetrievalSettings(
        mode="bm25",
        top_k=10,
        candidates=candidates,
        per_article=100,
        visibility="all",
        bm25_proximity=weight,
    )
    n = len(corpus)
    moved = 0
    with connect(aws_db, autocommit=True) as conn:
        for query in QUERIES + PHRASE_QUERIES:
            terms = {t for _, t in _query_lexemes(conn, query) if any(t in d for d in corpus)}
            plain = bm25.get_scores(sorted(terms))
            df = {t: sum(t in d for d in corpus) for t in terms}
            idf = {t: float(np.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))) for t in terms}
            pairs = _query_phrases(conn, query, terms.__contains__)
            boosted = np.zeros(n)  # only the candidates are ranked
            for i in np.argsort(-plain, kind="stable")[:candidates]:
                if plain[i] <= 0:
                    continue
                has = positions[i]
                boosted[i] = 2.2 * plain[i] + weight * sum(
                    min(idf[a], idf[b])
                    for a, b, gap in pairs
                    if a in has and b in has and any(p + gap in has[b] for p in has[a])
                )
            expected = [ids[i] for i in np.argsort(-boosted, kind="stable")[:10] if boosted[i] > 0]
            ours = retrieve(conn, query=query, query_vector=None, settings=settings)
            assert [c.chunk_id for c in ours] == expected, query
            assert all(
                c.bm25_score == pytest.approx(2.2 * plain[ids.index(c.chunk_id)], rel=1e-4)
                for c in ours
            ), query
            top_plain = [ids[i] for i in np.argsort(-plain, kind="stable")[:10]]
            moved += expected != top_plain
    assert moved, "the phrases changed no ranking: the test proves nothing"


def test_bm25_champion_lists_return_exact_scores(aws_db):
    """Above the exhaustive budget BM25 reads each term's best postings only: with lists longer
    than any term's postings it ranks exactly like the exhaustive path; with short lists every
    score it returns is still the exact score, and the best chunk is still found."""
    exhaustive = RetrievalSettings(
        mode="bm25", top_k=10, candidates=10, per_article=100, visibility="all"
    )
    with connect(aws_db, autocommit=True) as conn:
        for query in QUERIES:
            full = retrieve(conn, query=query, query_vector=None, settings=exhaustive)
            complete = exhaustive.model_copy(
                update={"bm25_exhaustive_postings": 0, "bm25_champion_postings": 10**7}
            )
            ranked = retrieve(conn, query=query, query_vector=None, settings=complete)
            # Scores are sums of per-term floats: the two plans may add them in a different
            # order, so "exact" means equal to the last few bits, not bit-identical.
            assert [c.chunk_id for c in ranked] == [c.chunk_id for c in full], query
            assert [c.bm25_score for c in ranked] == pytest.approx(
                [c.bm25_score for c in full], rel=1e-12
            ), query
            short = complete.model_copy(update={"bm25_champion_postings": 10, "bm25_rescore": 10})
            pruned = retrieve(conn, query=query, query_vector=None, settings=short)
            exact = {
                c.chunk_id: c.bm25_score
                for c in retrieve(
                    conn,
                    query=query,
                    query_vector=None,
                    settings=exhaustive.model_copy(update={"top_k": 100, "candidates": 1000}),
                )
            }
            assert pruned, query
            assert [c.bm25_score for c in pruned] == pytest.approx(
                [exact[c.chunk_id] for c in pruned], rel=1e-12
            ), query
            assert pruned[0].chunk_id == full[0].chunk_id, query


def test_bm25_statistics_follow_inserts_and_deletes(aws_db):
    with connect(aws_db) as conn:
        before = conn.execute("SELECT n_chunks, total_len FROM kb_corpus").fetchone()
        conn.execute("DELETE FROM kb_chunks WHERE id IN (SELECT id FROM kb_chunks LIMIT 5)")
        after = conn.execute("SELECT n_chunks, total_len FROM kb_corpus").fetchone()
        assert after["n_chunks"] == before["n_chunks"] - 5
        exact = conn.execute("""
            SELECT (SELECT count(*) FROM kb_chunks) AS n,
                   (SELECT coalesce(sum(cardinality(l.positions)), 0) FROM kb_chunks c,
                           unnest(c.fts) l) AS len,
                   (SELECT count(*) FROM kb_terms t WHERE t.df <> (
                        SELECT count(*) FROM kb_postings p WHERE p.term = t.term)) AS wrong_df
        """).fetchone()
        assert (exact["n"], exact["len"], exact["wrong_df"]) == (
            after["n_chunks"],
            after["total_len"],
            0,
        )
        conn.rollback()


def test_modes_fusions_and_per_article_dedup(aws_db):
    embedder = FakeEmbedder()
    with connect(aws_db, autocommit=True) as conn:
        query = QUERIES[0]
        vector = embedder.embed([query])[0]
        for mode in ("bm25", "dense", "hybrid"):
            for fusion in ("rrf", "convex"):
                settings = RetrievalSettings(mode=mode, fusion=fusion, top_k=8, visibility="all")
                chunks = retrieve(conn, query=query, query_vector=vector, settings=settings)
                assert len(chunks) == 8
                assert len({c.article_id for c in chunks}) == 8  # one chunk per article
                assert [c.score for c in chunks] == sorted((c.score for c in chunks), reverse=True)
        hybrid = retrieve(
            conn,
            query=query,
            query_vector=vector,
            settings=RetrievalSettings(top_k=10, visibility="all"),
        )
        assert any(c.dense_rank and c.bm25_rank for c in hybrid)
        two = retrieve(
            conn,
            query=query,
            query_vector=vector,
            settings=RetrievalSettings(top_k=10, per_article=2, visibility="all"),
        )
        counts = {}
        for c in two:
            counts[c.article_id] = counts.get(c.article_id, 0) + 1
        assert max(counts.values()) <= 2
        mmr = retrieve(
            conn,
            query=query,
            query_vector=vector,
            settings=RetrievalSettings(top_k=5, mmr_lambda=0.5, visibility="all"),
        )
        assert len(mmr) == 5


def _article_ranks(chunks) -> dict:
    """Each article's place among the articles of a ranked chunk list (its best chunk's)."""
    ranks: dict = {}
    for chunk in chunks:
        ranks.setdefault(chunk.article_id, len(ranks) + 1)
    return ranks


@pytest.mark.parametrize("query", QUERIES)
def test_article_level_rrf_fuses_each_articles_best_ranks(aws_db, query):
    """An article scores w_d / (k + its dense place) + w_b / (k + its BM25 place), where its place
    in a list is its best chunk's among the articles, even when the two best chunks differ."""
    embedder = FakeEmbedder()
    settings = RetrievalSettings(top_k=10, candidates=30, visibility="all")
    assert settings.fusion_level == "article"
    vector = embedder.embed([query])[0]
    with connect(aws_db, autocommit=True) as conn:
        single = {
            mode: retrieve(
                conn,
                query=query,
                query_vector=vector,
                settings=settings.model_copy(
                    update={"mode": mode, "top_k": 30, "per_article": 100}
                ),
            )
            for mode in ("dense", "bm25")
        }
        hybrid = retrieve(conn, query=query, query_vector=vector, settings=settings)
    dense, bm25 = _article_ranks(single["dense"]), _article_ranks(single["bm25"])
    k, w_dense = settings.rrf_k, 2 * settings.dense_weight
    expected = {
        article: (w_dense / (k + dense[article]) if article in dense else 0)
        + ((2 - w_dense) / (k + bm25[article]) if article in bm25 else 0)
        for article in dense | bm25
    }
    assert [c.score for c in hybrid] == pytest.approx(sorted(expected.values(), reverse=True)[:10])
    for chunk in hybrid:
        assert chunk.score == pytest.approx(expected[chunk.article_id])
    # Chunk level fuses chunk ranks instead: the same lists, another statement and order.
    by_chunk = settings.model_copy(update={"fusion_level": "chunk"})
    with connect(aws_db, autocommit=True) as conn:
        chunks = retrieve(conn, query=query, query_vector=vector, settings=by_chunk)
    for chunk in chunks:
        fused = (w_dense / (k + chunk.dense_rank) if chunk.dense_rank else 0) + (
            (2 - w_dense) / (k + chunk.bm25_rank) if chunk.bm25_rank else 0
        )
        assert chunk.score == pytest.approx(fused)


def test_filters_status_visibility_locale_category(aws_db):
    embedder = FakeEmbedder()
    with connect(aws_db) as conn:
        query = QUERIES[2]
        vector = embedder.embed([query])[0]
        top = retrieve(
            conn,
            query=query,
            query_vector=vector,
            settings=RetrievalSettings(top_k=3, visibility="all"),
        )
        hidden, internal = top[0].article_id, top[1].article_id
        conn.execute("UPDATE kb_articles SET status = 'draft' WHERE id = %s", (hidden,))
        conn.execute("UPDATE kb_articles SET visibility = 'internal' WHERE id = %s", (internal,))
        public = retrieve(
            conn,
            query=query,
            query_vector=vector,
            settings=RetrievalSettings(top_k=10, visibility="public"),
        )
        agent = retrieve(
            conn,
            query=query,
            query_vector=vector,
            settings=RetrievalSettings(top_k=10, visibility="all"),
        )
        assert hidden not in {c.article_id for c in public + agent}
        assert internal not in {c.article_id for c in public}
        assert internal in {c.article_id for c in agent}
        # A very selective filter (one German article) still finds it: iterative index scans.
        conn.execute("INSERT INTO kb_categories (slug, name) VALUES ('rare', 'Rare')")
        conn.execute(
            "UPDATE kb_articles SET locale = 'de', category_id = "
            "(SELECT id FROM kb_categories WHERE slug = 'rare') WHERE id = %s",
            (top[2].article_id,),
        )
        for mode in ("dense", "bm25", "hybrid"):
            only = retrieve(
                conn,
                query=query,
                query_vector=vector,
                settings=RetrievalSettings(
                    mode=mode, top_k=5, locale="de", category="rare", visibility="all"
                ),
            )
            assert [c.article_id for c in only] == [top[2].article_id], mode
        conn.rollback()


def test_bm25_filter_walk_reaches_far_down_the_scores(aws_db):
    """BM25 probes the filters best-first until it has its candidates: an article of the filtered
    category whose best chunk ranks far below the rest is still found (top-N cuts would lose it)."""
    query = QUERIES[0]
    wide = RetrievalSettings(
        mode="bm25", top_k=100, candidates=1000, per_article=100, visibility="all"
    )
    with connect(aws_db) as conn:
        ranked = retrieve(conn, query=query, query_vector=None, settings=wide)
        far = ranked[-1]  # its article's best chunk is far below the first 10
        assert all(c.article_id != far.article_id for c in ranked[:10])
        conn.execute("INSERT INTO kb_categories (slug, name) VALUES ('far', 'Far')")
        conn.execute(
            "UPDATE kb_articles SET category_id = (SELECT id FROM kb_categories WHERE slug = 'far')"
            " WHERE id = %s",
            (far.article_id,),
        )
        narrow = RetrievalSettings(
            mode="bm25", top_k=5, candidates=5, visibility="all", category="far"
        )
        found = retrieve(conn, query=query, query_vector=None, settings=narrow)
        assert found and {c.article_id for c in found} == {far.article_id}
        conn.rollback()


def test_the_dense_statement_can_use_the_halfvec_hnsw_index(aws_db):
    """The ORDER BY must match the index expression exactly, or every query is a full scan."""
    from autocrm.pipeline.retrieval import search_sql

    settings = RetrievalSettings(mode="dense", visibility="all")
    vector = FakeEmbedder().embed([QUERIES[0]])[0]
    params = {
        "query": QUERIES[0],
        "vector": vector,
        "candidates": 10,
        "per_article": 1,
        "limit": 5,
        "visibility": "all",
        "locale": None,
        "category": None,
    }
    with connect(aws_db, autocommit=True) as conn, conn.transaction():
        conn.execute("SET LOCAL enable_seqscan = off")
        conn.execute("SET LOCAL enable_sort = off")
        statement = search_sql("dense", settings.fusion, settings.fusion_level, len(vector))
        plan = "\n".join(
            r["QUERY PLAN"] for r in conn.execute("EXPLAIN " + statement, params, prepare=False)
        )
    assert "kb_chunks_embedding_hnsw_idx" in plan


def test_each_dense_call_sets_its_own_search_breadth(aws_db):
    """The breadth travels with the statement (one pipelined round trip): an explicit setting is
    used, and the corpus-sized default comes back on the next call on the same connection."""
    from autocrm.pipeline.retrieval import EF_SEARCH_MAX, ef_search_for

    vector = FakeEmbedder().embed([QUERIES[0]])[0]
    wide = RetrievalSettings(mode="dense", visibility="all", ef_search=321)
    with connect(aws_db, autocommit=True) as conn:
        retrieve(conn, query=QUERIES[0], query_vector=vector, settings=wide)
        assert conn.execute("SHOW hnsw.ef_search").fetchone()["hnsw.ef_search"] == "321"
        default = wide.model_copy(update={"ef_search": None})
        retrieve(conn, query=QUERIES[0], query_vector=vector, settings=default)
        n = conn.execute("SELECT n_chunks FROM kb_corpus").fetchone()["n_chunks"]
        assert conn.execute("SHOW hnsw.ef_search").fetchone()["hnsw.ef_search"] == str(
            ef_search_for(n)
        )
    assert ef_search_for(5_000) == 100 and ef_search_for(50_000) == 500
    assert ef_search_for(10**7) == EF_SEARCH_MAX


def test_the_prepared_search_is_planned_for_each_calls_values(aws_db):
    """The statement is prepared once per connection but never run with a generic plan (one plan
    cannot fit every query): after many calls on one connection, Postgres has run it with custom
    plans only, and every call returns what a fresh connection returns for the same query. Scores
    are compared to 9 decimals: a sum of floats may differ in its last bit between two runs of
    the same plan (seen once in CI: 14.15508723832317 vs 14.155087238323167)."""
    embedder = FakeEmbedder()
    settings = RetrievalSettings(mode="hybrid", visibility="all")
    queries = [*QUERIES, *PHRASE_QUERIES] * 2
    vectors = embedder.embed(queries)

    def rows(chunks):
        def r9(x):
            return None if x is None else round(x, 9)

        return [(c.chunk_id, r9(c.score), r9(c.bm25_score), r9(c.dense_score)) for c in chunks]

    with connect(aws_db, autocommit=True) as conn:
        got = [
            rows(retrieve(conn, query=q, query_vector=v, settings=settings))
            for q, v in zip(queries, vectors, strict=True)
        ]
        plans = conn.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE %s",
            ("%bm25_walk%",),
        ).fetchall()
    assert len(plans) == 1  # prepared once on this connection
    assert plans[0]["generic_plans"] == 0 and plans[0]["custom_plans"] == len(queries)
    for q, v, mine in zip(queries, vectors, got, strict=True):
        with connect(aws_db, autocommit=True) as fresh:
            assert rows(retrieve(fresh, query=q, query_vector=v, settings=settings)) == mine, q


@pytest.mark.parametrize(
    "query",
    [
        "'",
        "\\",
        "& | ! <-> :* ()",
        "timeout <-> lambda",
        "lambda's time\\out o''clock",
        "🔑 lambda timeout 🔑",
        "x" * 3000,
        "",
        "...???!!!",
        "lambda\ntimeout\n\nlambda timeout",
        "timeout:* & lambda:A",
    ],
)
def test_hostile_queries_never_break_the_statement(aws_db, query):
    """tsquery syntax, quotes, backslashes, emoji, empty and stop-word-only text are plain words
    to BM25 and its phrases (lexemes are quoted, never parsed as query syntax)."""
    vector = FakeEmbedder().embed([query or " "])[0]
    with connect(aws_db, autocommit=True) as conn:
        for mode in ("bm25", "hybrid"):
            chunks = retrieve(
                conn, query=query, query_vector=vector, settings=RetrievalSettings(mode=mode)
            )
            assert len(chunks) <= 5
            # BM25 still matches the words in it (none for syntax-only or empty text)
            if mode == "bm25":
                assert bool(chunks) == any(w in query for w in ("lambda", "timeout"))
