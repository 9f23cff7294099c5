"""Answer units made at ingestion: each article's parsed structure and its units' vectors,
stored by ingestion and read by a draft (which parses and embeds only what is not stored, or
stale). Real database; the fake embedder (plumbing)."""

from __future__ import annotations

import numpy as np

from autocrm.core.settings import Settings
from autocrm.db.connect import connect
from autocrm.ingest.answer_units import article_probes
from autocrm.pipeline import answer as answer_module
from autocrm.pipeline.answer import prepare_answer
from autocrm.pipeline.query import Turn
from autocrm.pipeline.units import parse_article, probe_key, sections_from_json
from tests.fakes import FakeEmbedder
from tests.ingest.support import rows, run
from tests.ingest.test_ingest import BILLING, write_kb


def live_probes(url: str, source: str) -> dict[bytes, str]:
    """The probe of every answer unit of a source's live articles, by key."""
    articles = rows(
        url,
        "SELECT title, body FROM kb_articles WHERE status <> 'archived' AND source = %s",
        (source,),
    )
    return {
        probe_key(p): p
        for a in articles
        for p in article_probes(a["title"], parse_article(a["body"], a["title"]))
    }


def stored(url: str) -> dict[bytes, np.ndarray]:
    found = rows(url, "SELECT probe_sha256, embedding FROM kb_unit_vectors")
    return {bytes(r["probe_sha256"]): r["embedding"].to_numpy() for r in found}


def test_ingestion_stores_each_answer_units_vector_once(fresh_db, tmp_path):
    kb = write_kb(tmp_path / "kb")
    first = run(fresh_db, kb)
    probes, vectors = live_probes(fresh_db, first.source), stored(fresh_db)
    assert len(probes) >= 8 and set(probes) <= set(vectors)
    assert (first.units_embedded, first.units_reused) == (len(probes), 0)
    # the vector of the probe text itself, as a draft would embed it
    key, text = next(iter(probes.items()))
    assert np.allclose(vectors[key], FakeEmbedder().embed([text])[0], atol=1e-6)

    again = run(fresh_db, kb)
    assert (again.units_embedded, again.units_reused) == (0, len(probes))

    # an edited article: only its changed units are embedded
    (kb / "billing" / "change-plan.md").write_text(
        BILLING.replace("prorated.", "prorated to the day.")
    )
    edited = run(fresh_db, kb)
    now = live_probes(fresh_db, edited.source)
    changed = set(now) - set(probes)
    assert edited.units_embedded == len(changed) >= 1
    assert edited.units_reused == len(now) - len(changed) > 0


def test_a_run_without_unit_vectors_leaves_them_to_the_next(fresh_db, tmp_path):
    kb = write_kb(tmp_path / "kb")
    skipped = run(fresh_db, kb, answer_units=False)
    probes = live_probes(fresh_db, skipped.source)
    assert skipped.units_embedded == 0 and not set(probes) & set(stored(fresh_db))
    # the next run (nothing changed in the articles) fills in what is missing
    later = run(fresh_db, kb)
    assert later.unchanged == 3 and later.units_embedded == len(probes)
    assert set(probes) <= set(stored(fresh_db))


class Recording(FakeEmbedder):
    """The fake embedder, keeping every text it is asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed(self, texts):
        self.texts += list(texts)
        return super().embed(texts)


def draft(url: str, embedder: Recording):
    answer_module._UNIT_VECTORS.clear()  # a fresh process: no unit vector in memory
    with connect(url, autocommit=True) as conn:
        return prepare_answer(
            conn,
            subject="",
            description="",
            thread=[Turn("customer", "When does a downgrade take effect on an annual plan?")],
            customer_name=None,
            kind="suggestion",
            embedder=embedder,
            chat_model=None,
            settings=Settings(),
        )


def test_a_draft_looks_the_unit_vectors_up_instead_of_embedding_them(fresh_db, tmp_path):
    report = run(fresh_db, write_kb(tmp_path / "kb"))
    probes = set(live_probes(fresh_db, report.source).values())
    embedder = Recording()
    looked_up = draft(fresh_db, embedder)
    assert "end of the billing period" in looked_up.draft.text
    assert not probes & set(embedder.texts), "a stored unit vector was embedded again"

    # with the table emptied the same draft embeds them at question time, and reads the same
    with connect(fresh_db, autocommit=True) as conn:
        conn.execute("DELETE FROM kb_unit_vectors")
    embedder = Recording()
    embedded = draft(fresh_db, embedder)
    assert probes & set(embedder.texts)
    assert embedded.draft.text == looked_up.draft.text


def test_ingestion_stores_each_articles_structure_as_the_parser_makes_it(fresh_db, tmp_path):
    kb = write_kb(tmp_path / "kb")
    first = run(fresh_db, kb)
    found = rows(
        fresh_db,
        "SELECT a.title, a.body, s.structure FROM kb_articles a "
        "JOIN kb_article_structures s ON s.article_id = a.id WHERE a.source = %s",
        (first.source,),
    )
    assert first.structures_stored == len(found) == 3
    for article in found:
        assert sections_from_json(article["structure"]) == parse_article(
            article["body"], article["title"]
        )
    assert run(fresh_db, kb).structures_stored == 0  # nothing changed
    (kb / "billing" / "change-plan.md").write_text(BILLING.replace("prorated.", "prorated daily."))
    assert run(fresh_db, kb).structures_stored == 1


def test_a_draft_reads_an_article_edited_since_its_structure_was_stored(fresh_db, tmp_path):
    """An edit in the app changes the body before any re-ingestion: the stored structure no longer
    matches it, so the draft parses the body as it is now."""
    run(fresh_db, write_kb(tmp_path / "kb"))
    assert "end of the billing period" in draft(fresh_db, Recording()).draft.text
    with connect(fresh_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE kb_articles SET body = replace(body, 'at the end of the billing period', "
            "'at midnight on the last day of the billing period') "
            "WHERE external_id = 'billing/change-plan.md'"
        )
    assert "at midnight on the last day" in draft(fresh_db, Recording()).draft.text


def test_a_draft_reads_the_stored_structure_rather_than_parsing(fresh_db, tmp_path):
    """What the draft quotes comes from the stored structure while it matches the article: a
    sentence changed in the stored structure alone (the body as it was) is what the reply says."""
    run(fresh_db, write_kb(tmp_path / "kb"))
    with connect(fresh_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE kb_article_structures SET structure = replace(structure::text, "
            "'at the end of the billing period', 'at the end of the stored period')::jsonb "
            "WHERE article_id = (SELECT id FROM kb_articles "
            "WHERE external_id = 'billing/change-plan.md')"
        )
    assert "at the end of the stored period" in draft(fresh_db, Recording()).draft.text
