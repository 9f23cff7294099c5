"""Cursor pagination: an opaque base64 cursor of the last row's (created_at, id).

Keyset pagination stays correct while rows are inserted and costs one index range scan per page,
whatever the page number.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from fastapi import Query
from pydantic import BaseModel

from autocrm.api.errors import Unprocessable

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=100, description="page size (at most 100)")]
CursorParam = Annotated[
    str | None,
    Query(max_length=200, description="`next_cursor` of the previous page; omit for the first"),
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(at: datetime, row_id: UUID) -> str:
    raw = json.dumps([at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class InvalidCursor(Unprocessable):
    """A ``cursor`` this API did not make (tampered, truncated, or from another list)."""

    slug = "invalid-cursor"

    def __init__(self) -> None:
        super().__init__("cursor: not a cursor returned by this API")


def decode_cursor(cursor: str | None) -> tuple[datetime | None, UUID | None]:
    """(None, None) for the first page; ``InvalidCursor`` (422) for anything this API did not
    make. The decoded JSON is untrusted: its shape is checked before any value is used."""
    if not cursor:
        return None, None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidCursor() from exc
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise InvalidCursor()
    try:
        return datetime.fromisoformat(value[0]), UUID(value[1])
    except ValueError as exc:
        raise InvalidCursor() from exc


def cursor_params(cursor: str | None) -> dict[str, Any]:
    at, row_id = decode_cursor(cursor)
    return {"after_at": at, "after_id": row_id}


def paginate(
    rows: Sequence[dict], *, limit: int, at_key: str = "created_at"
) -> tuple[list, str | None]:
    """Rows fetched with ``LIMIT limit + 1``: the page, and the cursor of the next one (if any)."""
    page = list(rows[:limit])
    more = len(rows) > limit
    return page, (encode_cursor(page[-1][at_key], page[-1]["id"]) if more and page else None)
