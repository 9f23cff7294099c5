"""A sample of the shared AWS help centre, ingested for real (real embeddings), then searched."""

from __future__ import annotations

from autocrm.core.settings import ChunkingSettings
from autocrm.db.connect import connect
from autocrm.ingest.job import ingest
from tests.ingest.support import sample

VECTOR_SEARCH = """
SELECT a.external_id FROM kb_chunks c JOIN kb_articles a ON a.id = c.article_id
 ORDER BY c.embedding <=> %s LIMIT 20
"""


def test_sample_ingests_and_known_questions_find_their_page(fresh_db, tmp_path, real_embedder):
    root, questions = sample(tmp_path)
    with connect(fresh_db, autocommit=True) as conn:
        report = ingest(conn, source_path=root, embedder=real_embedder, chunking=ChunkingSettings())
        assert report.failed == 0 and report.new == report.seen >= 20
        found = 0
        for q in questions:
            vector = real_embedder.embed([q["question"]])[0]
            ranked = [r["external_id"] for r in conn.execute(VECTOR_SEARCH, (vector,))]
            top = list(dict.fromkeys(ranked))[:3]  # distinct pages, best first
            guide, page = q["gold_doc_id"].split("/", 1)
            found += f"{guide}/doc_source/{page}" in top
    assert found >= 8, f"only {found}/10 questions found their page in the top 3"
