"""Knowledge base: hybrid search with snippets, and article authoring with a publish step.

Anyone may search and read (RLS: anon and customers see published public articles; staff see all).
Staff author and publish; only admins delete. Publishing, or editing a published article's text,
queues re-embedding after the commit.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response

from autocrm.api.deps import AdminSession, AnyCaller, ResourcesDep, StaffSession
from autocrm.api.errors import PROBLEM_RESPONSES, RATE_LIMITED, Forbidden, Unprocessable
from autocrm.api.pagination import CursorParam, Limit, Page, cursor_params, paginate
from autocrm.api.routes.kb_models import (
    Article,
    ArticleIn,
    ArticlePatch,
    ArticleSummary,
    SearchHit,
    SearchResults,
)
from autocrm.api.tasks import enqueue_reembed
from autocrm.api.types import Text, like_pattern
from autocrm.core.errors import NotFound
from autocrm.pipeline.retrieval import retrieve
from autocrm.pipeline.sanitize import validate_source_url

router = APIRouter(prefix="/kb", tags=["knowledge base"], responses=PROBLEM_RESPONSES)

SUMMARY_COLUMNS = """a.id, a.title, a.slug, a.summary, a.category_id, a.locale, a.tags,
       a.status::text AS status, a.visibility::text AS visibility, a.version, a.source,
       a.external_id, a.source_url, a.author_id, a.published_at, a.created_at, a.updated_at"""
COLUMNS = f"{SUMMARY_COLUMNS}, a.body"
SELECT_ARTICLE = f"SELECT {COLUMNS} FROM kb_articles a WHERE a.id = %s"
LIST_ARTICLES = f"""
SELECT {SUMMARY_COLUMNS} FROM kb_articles a
 WHERE (%(status)s::article_status IS NULL OR a.status = %(status)s::article_status)
   AND (%(visibility)s::article_visibility IS NULL
        OR a.visibility = %(visibility)s::article_visibility)
   AND (%(pattern)s::text IS NULL OR a.title ILIKE %(pattern)s::text)
   AND (%(after_at)s::timestamptz IS NULL
        OR (a.created_at, a.id) < (%(after_at)s::timestamptz, %(after_id)s::uuid))
 ORDER BY a.created_at DESC, a.id DESC
 LIMIT %(limit)s
"""
INSERT_ARTICLE = f"""
INSERT INTO kb_articles AS a (title, body, summary, slug, category_id, locale, tags, status,
                              visibility, source_url, author_id)
VALUES (%(title)s, %(body)s, %(summary)s, %(slug)s, %(category_id)s, %(locale)s, %(tags)s,
        %(status)s, %(visibility)s, %(source_url)s, %(author_id)s)
RETURNING {COLUMNS}
"""
UPDATE_ARTICLE = f"""
UPDATE kb_articles AS a SET
    title = CASE WHEN %(set_title)s THEN %(title)s ELSE a.title END,
    body = CASE WHEN %(set_body)s THEN %(body)s ELSE a.body END,
    summary = CASE WHEN %(set_summary)s THEN %(summary)s ELSE a.summary END,
    slug = CASE WHEN %(set_slug)s THEN %(slug)s ELSE a.slug END,
    category_id = CASE WHEN %(set_category_id)s THEN %(category_id)s::uuid ELSE a.category_id END,
    locale = CASE WHEN %(set_locale)s THEN %(locale)s ELSE a.locale END,
    tags = CASE WHEN %(set_tags)s THEN %(tags)s::text[] ELSE a.tags END,
    status = CASE WHEN %(set_status)s THEN %(status)s::article_status ELSE a.status END,
    visibility = CASE WHEN %(set_visibility)s THEN %(visibility)s::article_visibility
                      ELSE a.visibility END,
    source_url = CASE WHEN %(set_source_url)s THEN %(source_url)s ELSE a.source_url END
 WHERE a.id = %(id)s
RETURNING {COLUMNS}
"""
PUBLISH_ARTICLE = f"""
UPDATE kb_articles AS a SET status = 'published' WHERE a.id = %s RETURNING {COLUMNS}
"""
DELETE_ARTICLE = "DELETE FROM kb_articles WHERE id = %s"
NOT_NULL = {"title", "body", "locale", "tags", "status", "visibility"}
_TERM = re.compile(r"\w{3,}")


def snippet(content: str, query: str, *, width: int = 240) -> str:
    """A window of the chunk around the first query term it contains."""
    text = " ".join(content.split())
    lowered = text.lower()
    hits = [i for t in _TERM.findall(query.lower()) if (i := lowered.find(t)) >= 0]
    start = max(0, min(hits, default=0) - width // 3)
    end = start + width
    return ("…" if start else "") + text[start:end].strip() + ("…" if end < len(text) else "")


@router.get(
    "/search",
    response_model=SearchResults,
    responses=RATE_LIMITED,
    summary="Search the knowledge base",
)
def search(
    session: AnyCaller,
    res: ResourcesDep,
    q: Annotated[Text(min_length=1, max_length=500, strip=True), Query(description="the question")],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> SearchResults:
    """Hybrid retrieval (vector + BM25). Anonymous callers and customers get published public
    articles only; staff also internal ones."""
    visibility = "all" if session.is_staff else "public"
    settings = res.settings.retrieval.model_copy(update={"visibility": visibility, "top_k": limit})
    vector = res.embedder.embed([q])[0] if settings.mode != "bm25" else None
    chunks = retrieve(session.conn, query=q, query_vector=vector, settings=settings)
    return SearchResults(
        query=q,
        results=[
            SearchHit(
                article_id=c.article_id,
                chunk_id=c.chunk_id,
                title=c.title,
                heading_path=c.heading_path,
                snippet=snippet(c.content, q),
                # Rows stored before URLs were checked on write: never hand out a bad one.
                url=(c.source_url and validate_source_url(c.source_url)) or f"/kb/{c.external_id}",
                visibility=c.visibility,
                score=c.score,
            )
            for c in chunks
        ],
    )


@router.get("/articles", response_model=Page[ArticleSummary], summary="List articles")
def list_articles(
    session: AnyCaller,
    limit: Limit = 50,
    cursor: CursorParam = None,
    status: Literal["draft", "review", "published", "archived"] | None = None,
    visibility: Literal["public", "internal"] | None = None,
    q: Annotated[
        Text(min_length=1, max_length=200) | None, Query(description="in the title")
    ] = None,
) -> dict:
    rows = session.conn.execute(
        LIST_ARTICLES,
        {
            "status": status,
            "visibility": visibility,
            "pattern": like_pattern(q) if q else None,
            "limit": limit + 1,
        }
        | cursor_params(cursor),
    ).fetchall()
    items, next_cursor = paginate(rows, limit=limit)
    return {"items": items, "next_cursor": next_cursor}


@router.get("/articles/{article_id}", response_model=Article, summary="Read an article")
def get_article(article_id: UUID, session: AnyCaller) -> dict:
    return visible_article(session.conn, article_id)


@router.post("/articles", status_code=201, response_model=Article, summary="Create an article")
def create_article(body: ArticleIn, session: StaffSession, response: Response) -> dict:
    """A new draft (or review) article; publish it with ``POST /kb/articles/{id}/publish``."""
    row = session.conn.execute(
        INSERT_ARTICLE, body.model_dump() | {"author_id": session.user_id}
    ).fetchone()
    response.headers["Location"] = f"/kb/articles/{row['id']}"
    return row


@router.patch("/articles/{article_id}", response_model=Article, summary="Edit an article")
def update_article(
    article_id: UUID, body: ArticlePatch, session: StaffSession, res: ResourcesDep
) -> dict:
    visible_article(session.conn, article_id)
    sent = body.model_fields_set
    if not sent:
        raise Unprocessable("body: send at least one field to change")
    if nulls := sorted(f for f in sent & NOT_NULL if getattr(body, f) is None):
        raise Unprocessable(f"{nulls[0]}: cannot be null")
    params = body.model_dump() | {f"set_{f}": f in sent for f in ArticlePatch.model_fields}
    row = session.conn.execute(UPDATE_ARTICLE, params | {"id": article_id}).fetchone()
    if row is None:  # visible, but the UPDATE policies let nothing through: never a silent 200
        raise Forbidden("the access rules do not allow you to change this article")
    if row["status"] == "published" and sent & {"title", "body"} and res.queue is not None:
        session.after_commit.append(enqueue_reembed)
    return row


@router.delete("/articles/{article_id}", status_code=204, summary="Delete an article (admins)")
def delete_article(article_id: UUID, session: AdminSession) -> Response:
    if not session.conn.execute(DELETE_ARTICLE, (article_id,)).rowcount:
        raise NotFound(f"article {article_id} not found")
    return Response(status_code=204)


@router.post("/articles/{article_id}/publish", response_model=Article, summary="Publish")
def publish_article(article_id: UUID, session: StaffSession, res: ResourcesDep) -> dict:
    """Status → published (stamps ``published_at``), then re-embedding is queued."""
    row = session.conn.execute(PUBLISH_ARTICLE, (article_id,)).fetchone()
    if row is None:
        raise NotFound(f"article {article_id} not found")
    if res.queue is not None:
        session.after_commit.append(enqueue_reembed)
    return row


def visible_article(conn, article_id: UUID) -> dict:
    row = conn.execute(SELECT_ARTICLE, (article_id,)).fetchone()
    if row is None:
        raise NotFound(f"article {article_id} not found")
    return row
