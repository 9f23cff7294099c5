"""Knowledge-base sources → ``SourceItem``s (or ``ItemError``s: one bad item never stops a run).

- a directory tree of Markdown (optional YAML front matter), HTML and plain-text files;
- a help-centre export: Zendesk Guide articles JSON (``{"articles": [...]}`` or a list) or JSONL;
- a generic JSONL ``{id, title, body, …}`` (body Markdown, or HTML when it looks like HTML);
- articles already in ``kb_articles`` (``--from-db``), see ``ingest.job``.

Every item carries a stable identity: (source, external_id), the external id being the path relative
to the root for files (or the front matter ``id``), the record id for exports.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import frontmatter
import yaml

from autocrm.core.errors import AutoCRMError
from autocrm.core.timing import StageTimer
from autocrm.ingest.normalize import html_to_markdown, looks_like_html, title_from_markdown
from autocrm.pipeline.sanitize import validate_source_url

log = logging.getLogger(__name__)

MAX_ITEM_BYTES = 5_000_000
TEXT_SUFFIXES = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
}
_STATUSES = {"draft", "review", "published", "archived"}
_VISIBILITIES = {"public", "internal"}


@dataclass
class SourceItem:
    external_id: str
    title: str
    body: str  # Markdown
    locale: str = "en"
    tags: list[str] = field(default_factory=list)
    category: str | None = None
    status: str = "published"
    visibility: str = "public"
    source_url: str | None = None
    metadata: dict = field(default_factory=dict)


@dataclass
class ItemError:
    external_id: str
    error: str


class SourceError(AutoCRMError):
    """The source as a whole cannot be read (missing path, unknown format)."""


def describe(path: Path) -> str:
    """The source key stored on articles: stable for the same location."""
    return f"{'dir' if path.is_dir() else 'file'}:{path.resolve()}"


def read_source(path: Path, *, timer: StageTimer | None = None) -> Iterator[SourceItem | ItemError]:
    """Items of the source at ``path``; time spent goes to the timer's "read" and "parse" stages."""
    timer = timer or StageTimer()
    if not path.exists():
        raise SourceError(f"source {path} does not exist")
    if path.is_dir():
        yield from read_directory(path, timer=timer)
    elif path.suffix.lower() in {".json", ".jsonl", ".ndjson"}:
        yield from read_export(path, timer=timer)
    elif path.suffix.lower() in TEXT_SUFFIXES:
        yield from read_directory(path.parent, only=[path], timer=timer)
    else:
        raise SourceError(f"{path}: unknown source type (expected a directory, .json or .jsonl)")


def read_directory(
    root: Path, *, timer: StageTimer, only: list[Path] | None = None
) -> Iterator[SourceItem | ItemError]:
    with timer.stage("read"):
        files = only or sorted(p for p in root.rglob("*") if p.suffix.lower() in TEXT_SUFFIXES)
    seen: dict[str, str] = {}
    for path in files:
        rel = path.relative_to(root).as_posix()
        with timer.stage("read"):
            text = _read_bytes(path, rel)
        with timer.stage("parse"):
            item = text if isinstance(text, ItemError) else _parse_file(path, rel, text)
        if isinstance(item, SourceItem):
            if item.external_id in seen:
                item = ItemError(
                    rel,
                    f"duplicate id {item.external_id!r} (already used by {seen[item.external_id]})",
                )
            else:
                seen[item.external_id] = rel
        yield item


def _read_bytes(path: Path, rel: str) -> str | ItemError:
    size = path.stat().st_size
    if size == 0:
        return ItemError(rel, "empty file")
    if size > MAX_ITEM_BYTES:
        return ItemError(
            rel, f"file too large ({size / 1e6:.1f} MB > {MAX_ITEM_BYTES / 1e6:.0f} MB)"
        )
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        return ItemError(rel, "binary file (contains NUL bytes), not text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ItemError(
            rel, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        )
    if not text.strip():
        return ItemError(rel, "empty file (whitespace only)")
    return text


def _parse_file(path: Path, rel: str, text: str) -> SourceItem | ItemError:
    kind = TEXT_SUFFIXES[path.suffix.lower()]
    meta: dict = {}
    if kind == "markdown":
        try:
            post = frontmatter.loads(text)
        except (yaml.YAMLError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0]
            return ItemError(rel, f"malformed front matter: {first}")
        meta, text = dict(post.metadata), post.content
        if not isinstance(meta, dict):
            return ItemError(rel, "malformed front matter: not a mapping")
    elif kind == "html":
        text = html_to_markdown(text)
    return _item(
        external_id=str(meta.get("id", rel)),
        body=text,
        meta=meta,
        fallback_title=path.stem.replace("-", " ").replace("_", " "),
        where=rel,
    )


def _item(
    *, external_id: str, body: str, meta: dict, fallback_title: str, where: str
) -> SourceItem | ItemError:
    title = str(meta.get("title") or title_from_markdown(body) or fallback_title).strip()
    status = str(meta.get("status", "published"))
    visibility = str(meta.get("visibility", "public"))
    if status not in _STATUSES:
        return ItemError(where, f"unknown status {status!r} (expected one of {sorted(_STATUSES)})")
    if visibility not in _VISIBILITIES:
        return ItemError(where, f"unknown visibility {visibility!r} (expected public or internal)")
    tags = meta.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    if not body.strip():
        return ItemError(where, "no body text")
    known = {"id", "title", "status", "visibility", "tags", "category", "locale", "url"}
    source_url, warnings = _source_url(meta.get("url"), where)
    metadata = {k: v for k, v in meta.items() if k not in known and _jsonable(v)}
    return SourceItem(
        external_id=external_id,
        title=title[:500],
        body=body.strip() + "\n",
        locale=str(meta.get("locale") or "en"),
        tags=[str(t) for t in tags],
        category=_slug(meta["category"]) if meta.get("category") else None,
        status=status,
        visibility=visibility,
        source_url=source_url,
        metadata=metadata | ({"warnings": warnings} if warnings else {}),
    )


def _source_url(value: object, where: str) -> tuple[str | None, list[str]]:
    """The item's URL if it is an absolute http(s) one; otherwise None and a warning (kept in the
    article's metadata): it is rendered as a link in customer-visible Sources footers."""
    if value is None or value == "":
        return None, []
    url = validate_source_url(value) if isinstance(value, str) else None
    if url is not None:
        return url, []
    warning = f"url dropped: {str(value)[:200]!r} is not an absolute http(s) URL"
    log.warning("%s: %s", where, warning)
    return None, [warning]


def read_export(path: Path, *, timer: StageTimer) -> Iterator[SourceItem | ItemError]:
    """Zendesk Guide export (JSON with ``articles`` or a list, or JSONL) or a generic JSONL."""
    if path.stat().st_size == 0:
        raise SourceError(f"{path}: empty file")
    records: Iterator[tuple[str, dict | ItemError]]
    if path.suffix.lower() == ".json":
        try:
            with timer.stage("read"):
                data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SourceError(f"{path}: not valid JSON ({exc})") from exc
        rows = data.get("articles") if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise SourceError(f'{path}: expected a list of articles or {{"articles": [...]}}')
        records = ((f"#{i + 1}", row) for i, row in enumerate(rows))
    else:
        records = _jsonl(path)
    seen: set[str] = set()
    for where, record in records:
        if isinstance(record, ItemError):
            yield record
            continue
        with timer.stage("parse"):
            item = _from_record(record, where)
        if isinstance(item, SourceItem):
            if item.external_id in seen:
                item = ItemError(item.external_id, f"{where}: duplicate id {item.external_id!r}")
            seen.add(item.external_id)
        yield item


def _jsonl(path: Path) -> Iterator[tuple[str, dict | ItemError]]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            where = f"line {number}"
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                yield where, ItemError(where, "not valid UTF-8")
                continue
            except json.JSONDecodeError as exc:
                yield where, ItemError(where, f"malformed JSON: {exc.msg} (column {exc.colno})")
                continue
            yield where, record


def _from_record(record: object, where: str) -> SourceItem | ItemError:
    if not isinstance(record, dict):
        return ItemError(where, "expected a JSON object")
    if record.get("id") in (None, "") or not isinstance(record.get("body"), str):
        return ItemError(str(record.get("id", where)), f"{where}: needs 'id' and a string 'body'")
    external_id = str(record["id"])
    body = record["body"]
    if len(body.encode()) > MAX_ITEM_BYTES:
        return ItemError(external_id, f"body too large ({len(body.encode()) / 1e6:.1f} MB)")
    zendesk = "label_names" in record or "section_id" in record or "html_url" in record
    if zendesk or looks_like_html(body):
        body = html_to_markdown(body)
    meta = {k: v for k, v in record.items() if k not in {"body"}}
    if zendesk:
        meta["status"] = "draft" if record.get("draft") else "published"
        meta["tags"] = record.get("label_names") or []
        meta["url"] = record.get("html_url")
        if record.get("section_id") is not None:
            meta["category"] = f"section-{record['section_id']}"
    return _item(
        external_id=external_id, body=body, meta=meta, fallback_title=external_id, where=where
    )


def _slug(value: object) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(value).lower()).strip("-") or "uncategorized"


def _jsonable(value: object) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
