"""Knowledge-base pages: the list with its filters and search, an article rendered, the Markdown
editor's preview (HTML in the source shown as text), publishing with the re-embedding state, and
the internal/public switch; customers get the 404 page."""

from __future__ import annotations

import httpx
import pytest

from autocrm.api.web.kb_pages import render_markdown
from autocrm.ingest.job import ingest
from tests.api.conftest import KENJI, OLIVIA, PUBLIC_ARTICLE
from tests.api.web.test_signin import csrf_of, sign_in

AGENT_EMAIL = "kenji.watanabe@flowdesk.io"
HOSTILE = "# Archive a board\n\nOpen **Board settings** and choose *Archive*.\n\n<script>alert('x')</script>\n"


@pytest.fixture
def browser(api):
    with httpx.Client(base_url=api.base_url, timeout=60, follow_redirects=False) as client:
        yield client


def test_customers_get_the_404_page_on_the_knowledge_base(browser):
    sign_in(browser, OLIVIA)
    for path in ("/app/kb", "/app/kb/new", f"/app/kb/{PUBLIC_ARTICLE}"):
        page = browser.get(path)
        assert page.status_code == 404, path
        assert page.headers["content-type"].startswith("text/html")
        assert "Not found" in page.text and "Reset your password" not in page.text


def test_an_agent_lists_filters_and_reads_articles(browser):
    sign_in(browser, KENJI)
    listed = browser.get("/app/kb", params={"q": "Reset your password"})  # other tests add articles
    assert listed.status_code == 200 and "Reset your password" in listed.text
    internal = browser.get("/app/kb", params={"visibility": "internal"}).text
    assert "Internal: escalation playbook" in internal and "Reset your password" not in internal
    searched = browser.get("/app/kb", params={"q": "forgot my password"}).text
    assert "Best matches" in searched and f'href="/app/kb/{PUBLIC_ARTICLE}"' in searched
    article = browser.get(f"/app/kb/{PUBLIC_ARTICLE}")  # where the workspace's citations link
    assert article.status_code == 200
    assert "<h1>Reset your password</h1>" in article.text
    assert 'class="kb-body panel" id="kb-article"' in article.text and "<ol>" in article.text
    assert "embedded" in article.text


def test_the_editor_previews_publishes_and_shows_the_reembedding(web, db, real_embedder, api):
    db.execute("DELETE FROM procrastinate_jobs WHERE task_name = 'autocrm:reembed_articles'")
    web.sign_in(AGENT_EMAIL, next="/app/kb")
    web.wait_for("h1", text="Knowledge base")
    assert web.find_all("table.kb-articles tbody tr")
    web.screenshot("kb-list")

    web.find('a[href="/app/kb/new"]').click()
    web.wait_for("#kb-title").send_keys("Archive a board")
    body = web.find("#kb-body")
    body.clear()
    body.send_keys(HOSTILE)
    web.find("#kb-preview-button").click()
    # the preview may render more than once (typing, then the button): each check finds its
    # element afresh, so a pane replaced between two reads is never read stale
    web.wait_for("#kb-preview h1", text="Archive a board")
    web.wait_for("#kb-preview strong", text="Board settings")
    web.wait_for("#kb-preview", text="<script>alert('x')</script>")  # shown as text, never run
    assert not web.find_all("#kb-preview script")
    web.screenshot("kb-editor")

    web.find("#kb-publish").click()
    web.wait_for(".flash", text="Published")
    assert web.find("h1").text == "Archive a board"
    assert not web.find_all("#kb-article script")
    assert web.find('[data-field="state"]').text in ("queued", "embedding")
    article_id = web.driver.current_url.split("/app/kb/")[1].split("?")[0]
    row = db.execute(
        "SELECT status::text AS status, visibility::text AS visibility FROM kb_articles "
        "WHERE id = %s",
        (article_id,),
    ).fetchone()
    assert row == {"status": "published", "visibility": "internal"}
    jobs = db.execute(
        "SELECT status::text AS status FROM procrastinate_jobs "
        "WHERE task_name = 'autocrm:reembed_articles'"
    ).fetchall()
    assert [j["status"] for j in jobs] == ["todo"]

    # The worker's re-embedding job (api/tasks.py reembed_articles) runs this; the page's poll
    # then shows the article embedded, with its chunks.
    ingest(
        db, source_path=None, from_db=True, embedder=real_embedder, chunking=api.settings.chunking
    )
    db.execute("DELETE FROM procrastinate_jobs WHERE task_name = 'autocrm:reembed_articles'")
    web.wait_for('[data-field="state"]', text="embedded", timeout=20)
    assert int(web.find('[data-field="chunks"]').text) >= 1
    web.screenshot("kb-article")

    web.find("#make-public").click()
    web.wait_for("#kb-visibility", text="public")
    assert web.find("#make-internal")
    db.execute("DELETE FROM kb_articles WHERE id = %s", (article_id,))


def test_markdown_is_rendered_without_html_or_script_links():
    html = str(render_markdown("Hi <b>there</b> [x](javascript:alert(1)) [ok](https://a.example/)"))
    assert "&lt;b&gt;there&lt;/b&gt;" in html and "<b>" not in html
    assert "javascript:" not in html.split("[x]")[0] and 'href="javascript' not in html
    assert '<a href="https://a.example/">ok</a>' in html


def test_the_editor_says_what_is_wrong_and_the_preview_escapes_html(browser):
    sign_in(browser, KENJI)
    token = csrf_of(browser.get("/app/kb/new"))
    refused = browser.post(
        "/app/kb/new", data={"csrf_token": token, "title": " ", "body": "x", "action": "save"}
    )
    assert (
        refused.status_code == 422 and "title" in refused.text and 'id="kb-editor"' in refused.text
    )
    preview = browser.post(
        "/app/kb/preview",
        data={"body": "# T\n\n<img src=x onerror=alert(1)>"},
        headers={"X-CSRF-Token": token},
    )
    assert preview.status_code == 200
    assert preview.json()["html"] == "<h1>T</h1>\n<p>&lt;img src=x onerror=alert(1)&gt;</p>\n"
    assert browser.post("/app/kb/preview", data={"body": "x"}).status_code == 403  # no token
