"""Admin: start and list KB ingestions, and read the AI-effectiveness report."""

from __future__ import annotations

import logging
import threading
import time
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict

from autocrm.api.deps import AdminSession, Resources, ResourcesDep, StaffSession, service_connection
from autocrm.api.errors import PROBLEM_RESPONSES, Forbidden, Unprocessable
from autocrm.api.pagination import CursorParam, Limit, Page, cursor_params, paginate
from autocrm.api.types import Text
from autocrm.core.periods import SINCE_FORMS, parse_since
from autocrm.ingest.job import IngestError, ingest
from autocrm.ingest.sources import TEXT_SUFFIXES, SourceError, describe

log = logging.getLogger("autocrm.api")
router = APIRouter(prefix="/admin", tags=["admin"], responses=PROBLEM_RESPONSES)
START_WAIT_S = 10.0
SOURCE_SUFFIXES = {".json", ".jsonl", ".ndjson", *TEXT_SUFFIXES}

RUN_COLUMNS = """r.id, r.source, r.status, r.embedding_model, r.items_seen, r.items_new,
       r.items_updated, r.items_unchanged, r.items_archived, r.items_failed, r.chunks_embedded,
       r.chunks_reused, r.stage_seconds, r.error, r.started_at, r.finished_at"""
LATEST_RUN = f"""
SELECT {RUN_COLUMNS} FROM ingest_runs r WHERE r.source = %s ORDER BY r.started_at DESC LIMIT 1
"""
LIST_RUNS = f"""
SELECT {RUN_COLUMNS} FROM ingest_runs r
 WHERE (%(after_at)s::timestamptz IS NULL
        OR (r.started_at, r.id) < (%(after_at)s::timestamptz, %(after_id)s::uuid))
 ORDER BY r.started_at DESC, r.id DESC
 LIMIT %(limit)s
"""
EFFECTIVENESS = "SELECT * FROM ai_effectiveness_for_staff(%s)"


class IngestionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"source": "/srv/kb/help-centre"}]}
    )
    source: Text(min_length=1, max_length=4096)
    reembed: bool = False


class IngestRun(BaseModel):
    id: UUID
    source: str
    status: str
    embedding_model: str
    items_seen: int
    items_new: int
    items_updated: int
    items_unchanged: int
    items_archived: int
    items_failed: int
    chunks_embedded: int
    chunks_reused: int
    stage_seconds: dict[str, float]
    error: str | None
    started_at: datetime
    finished_at: datetime | None


class IngestionStarted(BaseModel):
    run_id: UUID | None
    source: str
    run: IngestRun | None


class EffectivenessRow(BaseModel):
    """A row of the ai_effectiveness view (columns the view adds later pass through)."""

    model_config = ConfigDict(extra="allow")
    day: date
    team_id: UUID
    category: str
    model: str
    prompt_version: str
    decision: str
    responses: int
    acceptance_rate: float | None
    mean_edit_similarity: float | None
    deflection_rate: float | None
    reopen_rate: float | None
    csat: float | None
    escalation_rate: float | None
    p50_latency_ms: float | None
    p95_latency_ms: float | None


@router.post("/ingestions", status_code=202, response_model=IngestionStarted, summary="Ingest")
def start_ingestion(
    body: IngestionIn, session: AdminSession, res: ResourcesDep, response: Response
) -> dict:
    """Ingest a Markdown/HTML directory or a help-centre export on the server, in a background
    thread, from inside the configured ``ingest_roots`` only (403 otherwise). Answers 202 once
    the run is recorded (poll ``GET /admin/ingestions``)."""
    path = allowed_source(Path(body.source), roots=res.settings.ingest_roots)
    if not path.exists():
        raise Unprocessable(f"source: {body.source} does not exist on the server")
    # read_source only complains once the run has started; say it now, as a 422.
    if not path.is_dir() and path.suffix.lower() not in SOURCE_SUFFIXES:
        raise Unprocessable(f"source: {body.source} is not a directory, .json(l) or text file")
    source = describe(path)
    run_ingestion_in_background(res, path=path, reembed=body.reembed)
    run = session.conn.execute(LATEST_RUN, (source,)).fetchone()
    response.headers["Location"] = "/admin/ingestions"
    return {"run_id": run["id"] if run else None, "source": source, "run": run}


class IngestionDisabled(Forbidden):
    slug = "ingestion-disabled"


class OutsideIngestRoots(Forbidden):
    slug = "outside-ingest-roots"


def allowed_source(source: Path, *, roots: list[Path]) -> Path:
    """``source`` with symlinks and ``..`` resolved, if that lies inside one of ``roots``
    (resolved the same way). Checked before anything is read, so the answer never tells whether
    a path outside the roots exists."""
    if not roots:
        raise IngestionDisabled(
            "admin ingestion of server paths is disabled: set AUTOCRM_INGEST_ROOTS to the "
            'directories it may read (a JSON list, e.g. ["/srv/kb"])'
        )
    if not source.is_absolute():
        raise Unprocessable("source: must be an absolute path")
    try:
        resolved = source.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop, a path too long
        raise Unprocessable("source: the path cannot be resolved") from exc
    if not any(resolved.is_relative_to(root.expanduser().resolve()) for root in roots):
        raise OutsideIngestRoots(
            "source: outside the directories admin ingestion may read (AUTOCRM_INGEST_ROOTS)"
        )
    return resolved


def run_ingestion_in_background(res: Resources, *, path: Path, reembed: bool) -> None:
    """Start the run; return once it is recorded. Errors raised before that (another run of the
    same source, a model mismatch, an unreadable source) are raised here, for the HTTP answer.
    A run still not recorded after START_WAIT_S answers 202 without a run id."""
    started, done = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def progress(items: Any) -> Any:
        started.set()  # called by ingest right after the run row is written
        return items

    def work() -> None:
        try:
            with service_connection(res.pool) as conn:
                report = ingest(
                    conn,
                    source_path=path,
                    embedder=res.embedder,
                    chunking=res.settings.chunking,
                    reembed=reembed,
                    progress=progress,
                )
            log.info("ingestion %s finished: %s new, %s updated", path, report.new, report.updated)
        except BaseException as exc:
            failure.append(exc)
            log.warning("ingestion of %s failed: %s", path, exc)
        finally:
            done.set()

    threading.Thread(target=work, name=f"ingest:{path.name}", daemon=True).start()
    deadline = time.monotonic() + START_WAIT_S
    while not (started.wait(0.05) or done.is_set()) and time.monotonic() < deadline:
        pass
    if failure and not started.is_set():
        exc = failure[0]
        if isinstance(exc, IngestError | SourceError):
            raise Unprocessable(f"source: {exc}") from exc
        raise exc


@router.get("/ingestions", response_model=Page[IngestRun], summary="List ingestion runs")
def list_ingestions(session: StaffSession, limit: Limit = 50, cursor: CursorParam = None) -> dict:
    rows = session.conn.execute(LIST_RUNS, {"limit": limit + 1} | cursor_params(cursor)).fetchall()
    items, next_cursor = paginate(rows, limit=limit, at_key="started_at")
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/ai-effectiveness", response_model=list[EffectivenessRow], summary="AI effectiveness report"
)
def ai_effectiveness(
    session: StaffSession,
    since: Annotated[
        str,
        Query(
            max_length=32,
            description=f"how far back, as `autocrm report ai --since` takes it: {SINCE_FORMS}",
            examples=["30d"],
        ),
    ] = "30d",
) -> list[dict]:
    """Per day, team, category, model, prompt version and decision: acceptance, edit similarity,
    deflection, reopens, CSAT, escalations and latency (from the materialized view, as of its last
    refresh). A bad ``since`` is a 422 naming the accepted forms."""
    first_day = parse_since(since).date()
    return session.conn.execute(EFFECTIVENESS, (first_day,)).fetchall()
