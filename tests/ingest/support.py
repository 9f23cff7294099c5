"""Helpers shared by the ingestion tests (and the retrieval tests that ingest a sample)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from autocrm.core.settings import ChunkingSettings
from autocrm.db.connect import connect
from autocrm.ingest.job import ingest
from tests.conftest import require_shared
from tests.fakes import FakeEmbedder

CHUNKING = ChunkingSettings(chunk_tokens=60, overlap_tokens=8, min_chunk_tokens=4)


def run(url: str, path: Path | None, embedder=None, **kwargs):
    with connect(url, autocommit=True) as conn:
        return ingest(
            conn, source_path=path, embedder=embedder or FakeEmbedder(), chunking=CHUNKING, **kwargs
        )


def rows(url: str, query: str, params=()) -> list[dict]:
    with connect(url, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def sample(tmp_path: Path, *, questions: int = 10, distractors: int = 20):
    """A copy of the shared AWS help centre's smallest gold pages of ``questions`` dev questions,
    plus ``distractors`` other pages of their guides: the KB root and the chosen questions."""
    kb = require_shared() / "aws-docs-qa" / "kb"
    with (kb.parent / "questions_dev.tsv").open() as handle:
        dev = list(csv.DictReader(handle, delimiter="\t"))

    def path_of(doc_id: str) -> Path:
        guide, page = doc_id.split("/", 1)
        return kb / guide / "doc_source" / page

    dev.sort(key=lambda r: path_of(r["gold_doc_id"]).stat().st_size)  # small pages: a fast test
    chosen = dev[:questions]
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
