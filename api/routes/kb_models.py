"""Request and response models of the knowledge-base routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict

from autocrm.api.types import Tags, Text
from autocrm.pipeline.sanitize import validate_source_url

Visibility = Literal["public", "internal"]
Title = Text(min_length=1, max_length=500, strip=True)
Body = Text(max_length=500_000)
Summary = Text(max_length=2_000)
Slug = Text(min_length=1, max_length=200)
Locale = Text(min_length=2, max_length=16)


def _http_url(value: str) -> str:
    # Checked on write: the URL is rendered as a link in customer-visible Sources footers, so a
    # javascript:/data: URL stored here would be a stored XSS for every reader.
    url = validate_source_url(value)
    if url is None:
        raise ValueError("must be an absolute http(s) URL with a host (no credentials, no spaces)")
    return url


Url = Annotated[Text(min_length=1, max_length=2_000), AfterValidator(_http_url)]

_EXAMPLE = {
    "title": "Export a project to CSV",
    "body": "# Steps\n\n1. Open the project.\n2. Choose **Export → CSV**.",
    "summary": "How to export tasks to a CSV file.",
    "tags": ["export", "csv"],
    "visibility": "public",
}


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})
    title: Title
    body: Body = ""
    summary: Summary | None = None
    slug: Slug | None = None
    category_id: UUID | None = None
    locale: Locale = "en"
    tags: Tags = []
    status: Literal["draft", "review"] = "draft"
    visibility: Visibility = "public"
    source_url: Url | None = None


class ArticlePatch(BaseModel):
    """Any subset of fields; ``status`` cannot become published here (use the publish action)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"body": "# Steps\n\n1. Updated."}]}
    )
    title: Title | None = None
    body: Body | None = None
    summary: Summary | None = None
    slug: Slug | None = None
    category_id: UUID | None = None
    locale: Locale | None = None
    tags: Tags | None = None
    status: Literal["draft", "review", "archived"] | None = None
    visibility: Visibility | None = None
    source_url: Url | None = None


class ArticleSummary(BaseModel):
    id: UUID
    title: str
    slug: str | None
    summary: str | None
    category_id: UUID | None
    locale: str
    tags: list[str]
    status: Literal["draft", "review", "published", "archived"]
    visibility: Visibility
    version: int
    source: str
    external_id: str
    source_url: str | None
    author_id: UUID | None
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


class Article(ArticleSummary):
    body: str


class SearchHit(BaseModel):
    article_id: UUID
    chunk_id: int
    title: str
    heading_path: list[str]
    snippet: str
    url: str
    visibility: Visibility
    score: float


class SearchResults(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "query": "reset my password",
                    "results": [
                        {
                            "article_id": "88888888-0000-4000-8000-000000000012",
                            "chunk_id": 41,
                            "title": "Reset your password",
                            "heading_path": ["Reset your password", "Steps"],
                            "snippet": "…choose Forgot password on the sign-in page…",
                            "url": "/kb/account-access/reset-password",
                            "visibility": "public",
                            "score": 0.0328,
                        }
                    ],
                }
            ]
        }
    )
    query: str
    results: list[SearchHit]
