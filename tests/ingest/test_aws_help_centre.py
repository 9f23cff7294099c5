"""A sample of the shared AWS help centre, ingested for real (real embeddings), then searched."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from autocrm.core.settings import ChunkingSettings
from autocrm.db.connect import connect
from autocrm.ingest.job import ingest
from tests.conftest import require_shared

VECTOR_SEARCH = """
SELECT a.external_id FROM kb_chunks c JOIN kb_articles a ON a.id = c.article_id
 ORDER BY c.embedding <=> %s LIMIT 20
"""


def sample(tmp_path: Path, *, questions: int = 10, distractors: int = 20):
    kb = require_shared() / "aws-docs-qa" / "kb"
    with (kb.parent / "questions_dev.tsv").open() as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))

    def path_of(doc_id: str) -> Path:
        guide, page = doc_id.split("/", 1)
        return kb / guide / "doc_source" / page

    rows.sort(key=lambda r: path_of(r["gold_doc_id"]).stat().st_size)  # small pages: a fast test
    chosen = rows[:questions]
    gold = {path_of(r["gold_doc_id"]) for r in chosen}
    guides = sorted({p.parent.parent for p in gold})
    others = sorted(
        (p for g in guides for p in (g / "doc_source").glob("*.md") if p not in gold),
        key=lambda p: p.stat().st_size,
    )[:distractors]
    root = tmp_path / "kb"
    for page in sorted(gold) + others:
        target = root / page.relative_to(kb)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(page, target)
    return root, chosen


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
