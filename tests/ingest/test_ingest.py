"""The ingestion job on the real database, with a fake embedder (plumbing, not quality)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autocrm.core.errors import AlreadyRunning
from autocrm.db.connect import connect
from autocrm.ingest.job import IngestError
from autocrm.ingest.sources import SourceError, describe
from autocrm.ingest.store import set_embedding_dimension
from tests.fakes import FakeEmbedder
from tests.ingest.support import rows, run

BILLING = """---
title: Change your plan
category: Billing
tags: [billing, plans]
visibility: public
---
# Change your plan

Intro paragraph about plans.

## Upgrade

1. Open **Settings → Billing**.
2. Choose the new plan and confirm. The change applies immediately and is prorated.

## Downgrade

Downgrades take effect at the end of the billing period. Annual plans can be downgraded at renewal.
"""


def write_kb(root: Path) -> Path:
    (root / "billing").mkdir(parents=True, exist_ok=True)
    (root / "billing" / "change-plan.md").write_text(BILLING)
    (root / "sso.html").write_text(
        "<html><body><h1>Set up SAML SSO</h1><p>Go to <b>Admin</b> and open Security.</p>"
        "<h2>Okta</h2><ul><li>Create an app</li><li>Paste the metadata URL</li></ul></body></html>"
    )
    (root / "notes.txt").write_text("Export data\n\nUse the CSV export from the Reports page.")
    return root


def chunks_of(url: str, external_id: str) -> list[dict]:
    return rows(
        url,
        """SELECT c.* FROM kb_chunks c JOIN kb_articles a ON a.id = c.article_id
                         WHERE a.external_id = %s ORDER BY position""",
        (external_id,),
    )


def test_markdown_html_and_text_become_articles_with_chunks(fresh_db, tmp_path):
    kb = write_kb(tmp_path / "kb")
    report = run(fresh_db, kb)
    assert (report.seen, report.new, report.failed, report.exit_code) == (3, 3, 0, 0)
    articles = {
        r["external_id"]: r
        for r in rows(
            fresh_db,
            "SELECT a.*, k.slug FROM kb_articles a LEFT JOIN kb_categories k "
            "ON k.id = a.category_id WHERE source = %s",
            (describe(kb),),
        )
    }
    assert set(articles) == {"billing/change-plan.md", "sso.html", "notes.txt"}
    plan = articles["billing/change-plan.md"]
    assert (plan["title"], plan["slug"], plan["tags"]) == (
        "Change your plan",
        "billing",
        ["billing", "plans"],
    )
    assert plan["content_hash"] and plan["version"] == 1
    assert articles["sso.html"]["title"] == "Set up SAML SSO"
    assert "## Okta" in articles["sso.html"]["body"]  # HTML normalised to Markdown headings
    chunks = chunks_of(fresh_db, "billing/change-plan.md")
    assert [c["position"] for c in chunks] == list(range(len(chunks)))
    assert any(c["heading_path"] == ["Change your plan", "Downgrade"] for c in chunks)
    assert all(c["context"].startswith("Change your plan") for c in chunks)
    assert all(
        c["embedding_model"] == "fake-embedder" and c["embedding"] is not None for c in chunks
    )
    versions = rows(
        fresh_db,
        "SELECT count(*) AS n FROM kb_article_versions v JOIN kb_articles a "
        "ON a.id = v.article_id WHERE a.source = %s",
        (describe(kb),),
    )
    assert versions[0]["n"] == 3
    run_row = rows(fresh_db, "SELECT * FROM ingest_runs WHERE id = %s", (report.run_id,))[0]
    assert run_row["status"] == "finished" and run_row["items_new"] == 3
    assert {"read", "parse", "chunk", "embed", "write"} <= set(run_row["stage_seconds"])


def test_second_run_is_incremental(fresh_db, tmp_path):
    kb = write_kb(tmp_path / "kb")
    run(fresh_db, kb)
    embedder = FakeEmbedder()
    again = run(fresh_db, kb, embedder)
    assert (again.unchanged, again.new, again.updated, embedder.calls) == (3, 0, 0, [])

    before = {c["content_hash"]: c["id"] for c in chunks_of(fresh_db, "billing/change-plan.md")}
    (kb / "billing" / "change-plan.md").write_text(
        BILLING.replace("prorated.", "prorated to the day.")
    )
    changed = run(fresh_db, kb)
    assert (changed.updated, changed.unchanged) == (1, 2)
    assert changed.chunks_reused > 0 and changed.chunks_embedded >= 1
    after = chunks_of(fresh_db, "billing/change-plan.md")
    assert len({c["content_hash"] for c in after} & set(before)) == changed.chunks_reused
    version = rows(
        fresh_db,
        "SELECT version FROM kb_articles WHERE external_id = %s",
        ("billing/change-plan.md",),
    )[0]["version"]
    assert version == 2


def test_missing_items_are_archived_unless_kept(fresh_db, tmp_path):
    kb = write_kb(tmp_path / "kb")
    run(fresh_db, kb)
    (kb / "notes.txt").unlink()
    assert run(fresh_db, kb, keep_missing=True).archived == 0
    assert len(chunks_of(fresh_db, "notes.txt")) > 0
    assert run(fresh_db, kb).archived == 1
    status = rows(fresh_db, "SELECT status FROM kb_articles WHERE external_id = 'notes.txt'")
    assert status[0]["status"] == "archived" and chunks_of(fresh_db, "notes.txt") == []


def test_bad_items_fail_alone_and_lose_nothing(fresh_db, tmp_path):
    kb = write_kb(tmp_path / "kb")
    run(fresh_db, kb)
    (kb / "empty.md").write_text("")
    (kb / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (kb / "latin1.md").write_bytes("# Caf\xe9\n\nna\xefve".encode("latin-1"))
    (kb / "bad-front.md").write_text("---\ntitle: [unclosed\n---\n# Body\n\ntext")
    (kb / "huge.md").write_text("# Huge\n\n" + "word " * 4_200_000)  # ~21 MB
    (kb / "dup.md").write_text("---\nid: billing/change-plan.md\n---\n# Dup\n\ntext")
    # A stored article whose file turns bad keeps its content and chunks.
    kept = chunks_of(fresh_db, "notes.txt")
    (kb / "notes.txt").write_bytes(b"\xff\xfe bad")
    report = run(fresh_db, kb)
    errors = {e.external_id: e.error for e in report.errors}
    assert report.exit_code == 1
    assert errors["empty.md"] == "empty file"
    assert "binary" in errors["binary.md"]
    assert "UTF-8" in errors["latin1.md"] and "UTF-8" in errors["notes.txt"]
    assert "front matter" in errors["bad-front.md"]
    assert "too large" in errors["huge.md"]
    assert "duplicate id" in errors["dup.md"] or "duplicate id" in errors.get(
        "billing/change-plan.md", ""
    )
    assert report.unchanged >= 2 and report.archived == 0
    assert [c["id"] for c in chunks_of(fresh_db, "notes.txt")] == [c["id"] for c in kept]
    stored = rows(
        fresh_db, "SELECT errors, items_failed FROM ingest_runs WHERE id = %s", (report.run_id,)
    )[0]
    assert stored["items_failed"] == len(errors) and len(stored["errors"]) == len(errors)


def test_missing_path_is_a_source_error(fresh_db, tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        run(fresh_db, tmp_path / "nope")


def test_help_centre_json_export_and_generic_jsonl(fresh_db, tmp_path):
    export = tmp_path / "zendesk.json"
    export.write_text(
        json.dumps(
            {
                "articles": [
                    {
                        "id": 101,
                        "title": "Reset your password",
                        "body": "<p>Click <b>Forgot password</b>.</p>"
                        "<h2>Still stuck?</h2><p>Contact support.</p>",
                        "locale": "en-us",
                        "label_names": ["login"],
                        "section_id": 7,
                        "draft": False,
                        "html_url": "https://help.example.test/articles/101",
                        "updated_at": "2026-01-01T00:00:00Z",
                    },
                    {
                        "id": 102,
                        "title": "Draft article",
                        "body": "<p>Work in progress</p><p>more</p>",
                        "label_names": [],
                        "section_id": 7,
                        "draft": True,
                        "html_url": None,
                    },
                ]
            }
        )
    )
    report = run(fresh_db, export)
    assert (report.new, report.failed) == (2, 0)
    art = rows(
        fresh_db,
        "SELECT a.*, k.slug FROM kb_articles a JOIN kb_categories k "
        "ON k.id = a.category_id WHERE external_id = '101'",
    )[0]
    assert (art["status"], art["locale"], art["tags"], art["slug"]) == (
        "published",
        "en-us",
        ["login"],
        "section-7",
    )
    assert art["source_url"] == "https://help.example.test/articles/101"
    assert "**Forgot password**" in art["body"]
    assert (
        rows(fresh_db, "SELECT status FROM kb_articles WHERE external_id = '102'")[0]["status"]
        == "draft"
    )

    jsonl = tmp_path / "faq.jsonl"
    jsonl.write_text(
        '{"id": "a", "title": "API limits", "body": "# API limits\\n\\n600 req/min"}\n'
        '{"id": "b", "title": "broken", \n'
        '["not", "an", "object"]\n'
        '{"id": "a", "title": "dup", "body": "x"}\n'
    )
    report = run(fresh_db, jsonl)
    assert report.new == 1 and report.failed == 3
    assert any("malformed JSON" in e.error for e in report.errors)


def test_other_model_is_refused_unless_reembed(fresh_db, tmp_path):
    kb = write_kb(tmp_path / "kb")
    run(fresh_db, kb)
    with pytest.raises(IngestError, match="--reembed"):
        run(fresh_db, kb, FakeEmbedder(name="other-model"))
    report = run(fresh_db, kb, FakeEmbedder(name="other-model"), reembed=True)
    assert report.updated == 3 and report.chunks_reused == 0
    models = rows(fresh_db, "SELECT DISTINCT embedding_model FROM kb_chunks")
    assert [m["embedding_model"] for m in models] == ["other-model"]


def test_other_dimension_is_refused_with_the_command_to_run(fresh_db, tmp_path):
    with pytest.raises(IngestError, match="set-dimension 768"):
        run(fresh_db, write_kb(tmp_path / "kb"), FakeEmbedder(dim=768))


def test_set_dimension_switches_column_index_and_search_rpc(fresh_db, tmp_path):
    """After `kb set-dimension 768` a 768-dim model ingests, and the HNSW index and the
    match_kb_chunks RPC follow (its ORDER BY casts to the index's halfvec(dim))."""
    run(fresh_db, write_kb(tmp_path / "kb"))
    with connect(fresh_db, autocommit=True) as conn:
        set_embedding_dimension(conn, dim=768)
    embedder = FakeEmbedder(dim=768)
    assert run(fresh_db, write_kb(tmp_path / "kb"), embedder, reembed=True).updated == 3
    with connect(fresh_db, autocommit=True) as conn:
        index = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'kb_chunks_embedding_hnsw_idx'"
        ).fetchone()["indexdef"]
        assert "halfvec(768)" in index
        chunk = conn.execute("SELECT id, context, content FROM kb_chunks LIMIT 1").fetchone()
        vector = embedder.embed([f"{chunk['context']}\n\n{chunk['content']}"])[0]
        found = conn.execute("SELECT * FROM match_kb_chunks(%s, 3, 0)", (vector,)).fetchall()
    assert found[0]["chunk_id"] == chunk["id"] and found[0]["similarity"] > 0.99


def test_second_run_on_same_source_is_refused(fresh_db, tmp_path):
    kb = write_kb(tmp_path / "kb")
    with connect(fresh_db, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"ingest:{describe(kb)}",))
        with pytest.raises(AlreadyRunning, match="another ingestion"):
            run(fresh_db, kb)
    assert run(fresh_db, kb).new == 3  # once the first is done, it runs


def test_from_db_embeds_articles_authored_in_the_app(fresh_db):
    with connect(fresh_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO kb_articles (source, external_id, title, body, status) VALUES "
            "('app', 'x1', 'Webhooks', '# Webhooks\n\nWe retry failed deliveries 5 times.',"
            " 'published')"
        )
    first = run(fresh_db, None, from_db=True)
    assert first.chunks_embedded >= 1 and len(chunks_of(fresh_db, "x1")) >= 1
    assert run(fresh_db, None, from_db=True).chunks_embedded == 0
    with connect(fresh_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE kb_articles SET body = body || ' Then we disable the endpoint.' "
            "WHERE external_id = 'x1'"
        )
    assert run(fresh_db, None, from_db=True).updated == 1
    assert "disable the endpoint" in " ".join(c["content"] for c in chunks_of(fresh_db, "x1"))


def test_an_article_with_no_text_under_its_heading_does_not_stop_the_batch(fresh_db):
    with connect(fresh_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO kb_articles (source, external_id, title, body, status) VALUES "
            "('app', 'empty', 'Draft', '# Draft', 'published'), "
            "('app', 'full', 'Exports', '# Exports\n\nExports arrive by email within an hour.',"
            " 'published')"
        )
    report = run(fresh_db, None, from_db=True)
    assert report.failed == 0
    assert chunks_of(fresh_db, "empty") == [] and len(chunks_of(fresh_db, "full")) >= 1
