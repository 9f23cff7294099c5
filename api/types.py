"""Field types shared by request models: text that PostgreSQL can store, bounded in size."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints


def _storable(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and a lone surrogate (legal in JSON escapes) is not UTF-8:
    # both would fail in the driver as a 500 instead of a 422 naming the field.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode (no lone surrogates)") from exc
    return value


def Text(*, max_length: int, min_length: int = 0, strip: bool = False) -> type[str]:  # noqa: N802
    """``str`` with length bounds that is safe to store."""
    return Annotated[  # type: ignore[return-value]
        str,
        StringConstraints(min_length=min_length, max_length=max_length, strip_whitespace=strip),
        AfterValidator(_storable),
    ]


Tag = Text(min_length=1, max_length=64, strip=True)
Tags = Annotated[list[Tag], Field(max_length=32)]
Comment = Text(max_length=5000)


def like_pattern(text: str) -> str:
    """``text`` as a literal substring for ILIKE (its own % _ \\ are not wildcards)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
