"""Liveness, readiness and Prometheus metrics (no authentication: they reveal no data)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from api.deps import ResourcesDep
from api.errors import Problem, problem
from db.migrate import is_up_to_date

router = APIRouter(tags=["operations"])
PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    responses={503: {"model": Problem, "description": "not ready (see `checks`)"}},
    summary="Readiness: database reachable, schema current, model loaded",
)
def readyz(res: ResourcesDep) -> Health | Response:
    checks: dict[str, str] = {}
    try:
        with res.pool.connection(timeout=3) as conn:
            checks["database"] = "ok"
            checks["schema"] = "ok" if is_up_to_date(conn) else "migrations pending"
            conn.rollback()  # is_up_to_date may create its tracking table: leave nothing behind
    except Exception as exc:
        checks.setdefault("database", f"unreachable: {type(exc).__name__}")
        checks.setdefault("schema", "unknown")
    checks["model"] = "ok" if res.model_ready else "not loaded"
    if all(v == "ok" for v in checks.values()):
        return Health(status="ready", checks=checks)
    return problem(503, "not ready", slug="not-ready", checks=checks)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, res: ResourcesDep) -> Response:
    return Response(request.app.state.metrics.render(res.pool), media_type=PROMETHEUS)
