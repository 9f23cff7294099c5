"""Liveness, readiness and Prometheus metrics (no authentication: they reveal no data)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from autocrm.api.deps import ResourcesDep
from autocrm.api.errors import Problem, problem
from autocrm.api.tasks import worker_heartbeat
from autocrm.db.migrate import is_up_to_date

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
    summary="Readiness: database reachable, schema current, model loaded; worker heartbeat",
)
def readyz(
    res: ResourcesDep,
    require_worker: bool = Query(
        False, description="answer 503 also when no worker has a recent heartbeat"
    ),
) -> Health | Response:
    """`checks.worker` is "ok" when a queue worker (`autocrm worker`) has recorded a heartbeat in the
    last 20 s (`api.tasks.STALLED_WORKER_S`), else it says for how long none has.

    A missing worker does not make the API unready by default: the API still serves every request
    and the tickets it creates wait in the queue (the sweeper answers them once a worker is back),
    so a load balancer must not take the API out of service for it. The answer is then 200 with
    `status` "degraded". With `?require_worker=true` (a monitor of the whole service) it is a 503,
    like the other checks."""
    checks: dict[str, str] = {}
    try:
        with res.pool.connection(timeout=3) as conn:
            checks["database"] = "ok"
            checks["schema"] = "ok" if is_up_to_date(conn) else "migrations pending"
            conn.rollback()  # is_up_to_date may create its tracking table: leave nothing behind
            checks["worker"] = worker_heartbeat(conn) if checks["schema"] == "ok" else "unknown"
            conn.rollback()
    except Exception as exc:
        checks.setdefault("database", f"unreachable: {type(exc).__name__}")
        checks.setdefault("schema", "unknown")
        checks.setdefault("worker", "unknown")
    checks["model"] = "ok" if res.model_ready else "not loaded"
    failing = {name for name, value in checks.items() if value != "ok"}
    if not failing:
        return Health(status="ready", checks=checks)
    if failing == {"worker"} and not require_worker:
        return Health(status="degraded", checks=checks)
    return problem(503, "not ready", slug="not-ready", checks=checks)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, res: ResourcesDep) -> Response:
    return Response(request.app.state.metrics.render(res.pool), media_type=PROMETHEUS)
