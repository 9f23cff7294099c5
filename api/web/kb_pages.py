"""Knowledge-base pages for staff: search and list, read an article, write one in Markdown with a
server-rendered preview, publish it (re-embedding is queued, and its state shown), switch it
between internal and public.

The writes reuse the API's statements and models (``api/routes/kb.py``): one set of rules for the
JSON API and the pages. Markdown is rendered by markdown-it-py with raw HTML disabled, so any HTML
in an article's source is shown as text, never run.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError

from autocrm.api.deps import get_resources, service_connection
from autocrm.api.errors import Forbidden
from autocrm.api.routes.kb import (
    INSERT_ARTICLE,
    PUBLISH_ARTICLE,
    UPDATE_ARTICLE,
    snippet,
)
from autocrm.api.routes.kb_models import ArticleIn, ArticlePatch
from autocrm.api.tasks import enqueue_reembed
from autocrm.api.types import like_pattern
from autocrm.api.web.pages import PageRoute, StaffPage, render, render_markdown
from autocrm.core.errors import NotFound
from autocrm.pipeline.retrieval import retrieve

router = APIRouter(route_class=PageRoute)

PAGE_SIZE = 50
STATUSES = ("draft", "review", "published", "archived")
VISIBILITIES = ("public", "internal")
LIST_ARTICLES = """
SELECT a.id, a.title, a.summary, a.status::text AS status, a.visibility::text AS visibility,
       a.source, a.tags, a.updated_at, a.published_at, k.name AS category
  FROM kb_articles a LEFT JOIN kb_categories k ON k.id = a.category_id
 WHERE (%(status)s::article_status IS NULL OR a.status = %(status)s::article_status)
   AND (%(visibility)s::article_visibility IS NULL
        OR a.visibility = %(visibility)s::article_visibility)
   AND (%(category)s::uuid IS NULL OR a.category_id = %(category)s::uuid)
   AND (%(pattern)s::text IS NULL OR a.title ILIKE %(pattern)s OR a.body ILIKE %(pattern)s)
 ORDER BY a.updated_at DESC, a.id DESC
 LIMIT %(limit)s OFFSET %(offset)s
"""
CATEGORIES = "SELECT id, name, slug FROM kb_categories ORDER BY position, name"
SELECT_ARTICLE = """
SELECT a.*, a.status::text AS status, a.visibility::text AS visibility, k.name AS category,
       u.full_name AS author_name
  FROM kb_articles a
  LEFT JOIN kb_categories k ON k.id = a.category_id
  LEFT JOIN users u ON u.id = a.author_id
 WHERE a.id = %s
"""
CHUNK_COUNTS = """
SELECT count(*) AS chunks, count(embedding) AS embedded, max(created_at) AS embedded_at,
       max(embedding_model) AS model
  FROM kb_chunks WHERE article_id = %s
"""
# The queue's tables are the worker's (RLS denies the API roles): read with the pool's own login,
# after the caller was checked to be staff. One job re-embeds every stale article.
REEMBED_JOB = """
SELECT status::text AS status FROM procrastinate_jobs
 WHERE task_name = 'autocrm:reembed_articles' AND status IN ('todo', 'doing')
 ORDER BY (status = 'doing') DESC, id DESC LIMIT 1
"""
SET_VISIBILITY = """
UPDATE kb_articles SET visibility = %s::article_visibility WHERE id = %s RETURNING id
"""
FLASH = {
    "created": "Article created as a draft.",
    "saved": "Saved.",
    "published": "Published: re-embedding is queued; the state below updates by itself.",
    "visibility": "Visibility changed.",
    "queued": "Re-embedding queued.",
}


def article_hash(*, title: str, body: str) -> str:
    """The hash ingestion stores (``ingest.normalize.content_hash``): equal means the chunks are
    of the current text."""
    from autocrm.ingest.normalize import content_hash

    return content_hash(title=title, body=body)


def load_article(conn, article_id: UUID) -> dict:
    row = conn.execute(SELECT_ARTICLE, (article_id,)).fetchone()
    if row is None:
        raise NotFound(f"article {article_id} not found")
    return row


def embedding_state(request: Request, conn, article: dict) -> dict[str, Any]:
    """``state``: embedded | embedding | queued | stale | not_embedded, with the chunk counts."""
    counts = conn.execute(CHUNK_COUNTS, (article["id"],)).fetchone()
    current = article["content_hash"] == article_hash(title=article["title"], body=article["body"])
    with service_connection(get_resources(request).pool) as service:
        job = service.execute(REEMBED_JOB).fetchone()
    if counts["chunks"] and current:
        state = "embedded"
    elif job is not None:
        state = "embedding" if job["status"] == "doing" else "queued"
    else:
        state = "stale" if counts["chunks"] else "not_embedded"
    return {
        "state": state,
        "chunks": counts["chunks"],
        "vectors": counts["embedded"],
        "embedded_at": counts["embedded_at"],
        "model": counts["model"],
        "current": current,
        "waiting": state in ("queued", "embedding"),
    }


def _queue(request: Request, session) -> None:
    if get_resources(request).queue is not None:
        session.after_commit.append(enqueue_reembed)


def _see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


@router.get("/app/kb")
def kb_list(
    request: Request,
    session: StaffPage,
    q: Annotated[str | None, Query(max_length=500)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    visibility: Annotated[str | None, Query(max_length=20)] = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> Response:
    q = (q or "").strip() or None
    status = status if status in STATUSES else None
    visibility = visibility if visibility in VISIBILITIES else None
    try:
        category_id = UUID(category) if category else None
    except ValueError:
        category_id = None
    rows = session.conn.execute(
        LIST_ARTICLES,
        {
            "status": status,
            "visibility": visibility,
            "category": category_id,
            "pattern": like_pattern(q) if q else None,
            "limit": PAGE_SIZE + 1,
            "offset": (page - 1) * PAGE_SIZE,
        },
    ).fetchall()
    return render(
        request,
        "kb_list.html",
        {
            "articles": rows[:PAGE_SIZE],
            "more": len(rows) > PAGE_SIZE,
            "page": page,
            "hits": search_hits(request, session, q) if q else [],
            "categories": session.conn.execute(CATEGORIES).fetchall(),
            "filters": {
                "q": q or "",
                "status": status or "",
                "visibility": visibility or "",
                "category": str(category_id or ""),
            },
            "statuses": STATUSES,
            "visibilities": VISIBILITIES,
        },
        session=session,
    )


def search_hits(request: Request, session, q: str, *, limit: int = 8) -> list[dict]:
    """Hybrid retrieval (the same as ``GET /kb/search``) over published articles, internal ones
    too; one hit per article, its best chunk's snippet."""
    res = get_resources(request)
    settings = res.settings.retrieval.model_copy(update={"visibility": "all", "top_k": limit * 3})
    vector = res.embedder.embed([q])[0] if settings.mode != "bm25" else None
    hits: dict[UUID, dict] = {}
    for c in retrieve(session.conn, query=q, query_vector=vector, settings=settings):
        if c.article_id not in hits and len(hits) < limit:
            hits[c.article_id] = {
                "article_id": c.article_id,
                "title": c.title,
                "heading": " › ".join(c.heading_path[1:]),
                "snippet": snippet(c.content, q),
                "visibility": c.visibility,
                "score": c.score,
            }
    return list(hits.values())


@router.get("/app/kb/new")
def kb_new(request: Request, session: StaffPage) -> Response:
    blank = {"title": "", "body": "", "summary": "", "tags": [], "visibility": "internal"}
    return _editor(request, session, article=None, form=blank)


@router.get("/app/kb/{article_id}")
def kb_article(request: Request, article_id: UUID, session: StaffPage) -> Response:
    article = load_article(session.conn, article_id)
    done = request.query_params.get("done")
    return render(
        request,
        "kb_article.html",
        {
            "article": article,
            "html": render_markdown(article["body"]),
            "embedding": embedding_state(request, session.conn, article),
            "flash": FLASH.get(done or ""),
        },
        session=session,
    )


@router.get("/app/kb/{article_id}/state")
def kb_article_state(request: Request, article_id: UUID, session: StaffPage) -> Response:
    """The re-embedding state as JSON, for kb.js to refresh the article page while it changes."""
    state = embedding_state(request, session.conn, load_article(session.conn, article_id))
    state["embedded_at"] = state["embedded_at"].isoformat() if state["embedded_at"] else None
    return JSONResponse(state)


@router.get("/app/kb/{article_id}/edit")
def kb_edit(request: Request, article_id: UUID, session: StaffPage) -> Response:
    article = load_article(session.conn, article_id)
    return _editor(request, session, article=article, form=article)


def _editor(
    request: Request,
    session,
    *,
    article: dict | None,
    form: dict,
    preview: Markup | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "kb_editor.html",
        {
            "article": article,
            "form": form | {"tags_text": ", ".join(form.get("tags") or [])},
            "preview": preview if preview is not None else render_markdown(form.get("body", "")),
            "categories": session.conn.execute(CATEGORIES).fetchall(),
            "visibilities": VISIBILITIES,
            "error": error,
        },
        session=session,
        status_code=status_code,
    )


def _fields(
    title: str, body: str, summary: str, tags: str, visibility: str, category_id: str
) -> dict[str, Any]:
    return {
        "title": title,
        "body": body.replace("\r\n", "\n"),
        "summary": summary.strip() or None,
        "tags": [t.strip() for t in tags.split(",") if t.strip()],
        "visibility": visibility,
        "category_id": category_id or None,
    }


def _problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc']) or 'form'}: {first['msg']}"


Str = Annotated[str, Form(max_length=500_000)]


@router.post("/app/kb/preview")
def kb_preview(request: Request, session: StaffPage, body: Str = "") -> Response:
    """The editor's live preview: the same server-side rendering as the article page."""
    return JSONResponse({"html": str(render_markdown(body))})


@router.post("/app/kb/new")
def kb_create(
    request: Request,
    session: StaffPage,
    title: Str = "",
    body: Str = "",
    summary: Str = "",
    tags: Str = "",
    visibility: Str = "internal",
    category_id: Str = "",
    action: Str = "save",
) -> Response:
    form = _fields(title, body, summary, tags, visibility, category_id)
    if action == "preview":
        return _editor(request, session, article=None, form=form)
    try:
        article = ArticleIn.model_validate(form)
    except ValidationError as exc:
        return _editor(
            request, session, article=None, form=form, error=_problem(exc), status_code=422
        )
    row = session.conn.execute(
        INSERT_ARTICLE, article.model_dump() | {"author_id": session.user_id}
    ).fetchone()
    if action == "publish":
        session.conn.execute(PUBLISH_ARTICLE, (row["id"],))
        _queue(request, session)
        return _see_other(f"/app/kb/{row['id']}?done=published")
    return _see_other(f"/app/kb/{row['id']}?done=created")


@router.post("/app/kb/{article_id}/edit")
def kb_save(
    request: Request,
    article_id: UUID,
    session: StaffPage,
    title: Str = "",
    body: Str = "",
    summary: Str = "",
    tags: Str = "",
    visibility: Str = "internal",
    category_id: Str = "",
    action: Str = "save",
) -> Response:
    article = load_article(session.conn, article_id)
    form = _fields(title, body, summary, tags, visibility, category_id)
    if action == "preview":
        return _editor(request, session, article=article, form=article | form)
    try:
        patch = ArticlePatch.model_validate(form)
    except ValidationError as exc:
        return _editor(
            request,
            session,
            article=article,
            form=article | form,
            error=_problem(exc),
            status_code=422,
        )
    params = patch.model_dump() | {f"set_{f}": f in form for f in ArticlePatch.model_fields}
    row = session.conn.execute(UPDATE_ARTICLE, params | {"id": article_id}).fetchone()
    if row is None:
        raise Forbidden("the access rules do not allow you to change this article")
    changed = (row["title"], row["body"]) != (article["title"], article["body"])
    if action == "publish" and row["status"] != "published":
        session.conn.execute(PUBLISH_ARTICLE, (article_id,))
        _queue(request, session)
        return _see_other(f"/app/kb/{article_id}?done=published")
    if row["status"] == "published" and changed:
        _queue(request, session)
    return _see_other(f"/app/kb/{article_id}?done=saved")


@router.post("/app/kb/{article_id}/publish")
def kb_publish(request: Request, article_id: UUID, session: StaffPage) -> Response:
    if session.conn.execute(PUBLISH_ARTICLE, (article_id,)).fetchone() is None:
        raise NotFound(f"article {article_id} not found")
    _queue(request, session)
    return _see_other(f"/app/kb/{article_id}?done=published")


@router.post("/app/kb/{article_id}/reembed")
def kb_reembed(request: Request, article_id: UUID, session: StaffPage) -> Response:
    load_article(session.conn, article_id)
    _queue(request, session)
    return _see_other(f"/app/kb/{article_id}?done=queued")


@router.post("/app/kb/{article_id}/visibility")
def kb_visibility(
    request: Request, article_id: UUID, session: StaffPage, visibility: Str = "internal"
) -> Response:
    if visibility not in VISIBILITIES:
        raise NotFound(f"no visibility {visibility!r}")
    if session.conn.execute(SET_VISIBILITY, (visibility, article_id)).fetchone() is None:
        raise NotFound(f"article {article_id} not found")
    return _see_other(f"/app/kb/{article_id}?done=visibility")
