"""Every error is ``application/problem+json`` (RFC 9457): ``type``, ``title``, ``status``, ``detail``.

Library exceptions are translated here and only here (ARCHITECTURE §7): NotFound → 404,
InvalidInput → 422, a model failure → 503, an unreachable database → 503, an RLS refusal → 403,
constraint violations → 409/422, anything unexpected → 500 without a traceback in the body.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from autocrm.core.errors import AlreadyRunning, AutoCRMError, DataDirError, InvalidInput, NotFound
from autocrm.db.errors import DatabaseError

log = logging.getLogger("autocrm.api")
PROBLEM_JSON = "application/problem+json"


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An error response (RFC 9457)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:autocrm:problem:not-found",
                    "title": "Not Found",
                    "status": 404,
                    "detail": "ticket 99999999-0000-4000-8000-000000000010 not found",
                }
            ]
        }
    )
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] | None = None


class ApiError(AutoCRMError):
    """An error raised by a route on purpose, with its status."""

    status = 400
    slug = "bad-request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.headers = headers


class Unauthorized(ApiError):
    status, slug = 401, "unauthorized"

    def __init__(self, detail: str = "authentication required"):
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="autocrm"'})


class Forbidden(ApiError):
    status, slug = 403, "forbidden"


class Conflict(ApiError):
    status, slug = 409, "conflict"


class Unprocessable(ApiError):
    status, slug = 422, "invalid-input"


def problem(
    status: int,
    detail: str | None = None,
    *,
    slug: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": f"urn:autocrm:problem:{slug}" if slug else "about:blank",
        "title": _title(status),
        "status": status,
        "detail": detail,
    } | extra
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# (psycopg error class, status, slug, detail); the first match wins, so subclasses come first.
_DB_ERRORS: list[tuple[type[Exception], int, str, str]] = [
    (
        psycopg.errors.InsufficientPrivilege,
        403,
        "forbidden",
        "the access rules do not allow this for your account",
    ),
    (psycopg.errors.UniqueViolation, 409, "conflict", "a row with these values already exists"),
    (
        psycopg.errors.ForeignKeyViolation,
        422,
        "invalid-reference",
        "a referenced row does not exist",
    ),
    (psycopg.errors.CheckViolation, 422, "invalid-input", "a value is out of range"),
    (psycopg.errors.NotNullViolation, 422, "invalid-input", "a required value is missing"),
    (psycopg.DataError, 422, "invalid-input", "a value is invalid"),
    (psycopg.OperationalError, 503, "database-unavailable", "the database is unavailable"),
]


def describe(exc: Exception) -> tuple[int, str | None, str, dict[str, str] | None]:
    """(status, problem slug, detail, headers) for any exception a route can raise."""
    from autocrm.pipeline.chat import ChatModelError  # lazy: keeps `import api.errors` light

    if isinstance(exc, ApiError):
        return exc.status, exc.slug, exc.detail, exc.headers
    if isinstance(exc, StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else _title(exc.status_code)
        return exc.status_code, None, detail, getattr(exc, "headers", None)
    if isinstance(exc, NotFound):
        return 404, "not-found", str(exc), None
    if isinstance(exc, InvalidInput):
        return 422, "invalid-input", str(exc), None
    if isinstance(exc, ChatModelError):
        log.warning("chat model failure: %s", exc)
        return 503, "model-unavailable", "the language model is unavailable; try again later", None
    if isinstance(exc, AlreadyRunning):
        return 409, "already-running", str(exc), None
    if isinstance(exc, DatabaseError | DataDirError):
        log.warning("database error: %s", exc)
        return 503, "database-unavailable", "the database is unavailable", None
    if isinstance(exc, psycopg.Error):
        for cls, status, slug, detail in _DB_ERRORS:
            if isinstance(exc, cls):
                constraint = getattr(getattr(exc, "diag", None), "constraint_name", None)
                if constraint and status == 422:
                    detail = f"{detail} (constraint {constraint})"
                if status >= 500:
                    log.warning("database error: %s", exc)
                return status, slug, detail, None
    log.error("unhandled %s", type(exc).__name__, exc_info=exc)
    return 500, "internal", "internal error", None


def problem_body(exc: Exception) -> dict[str, Any]:
    status, slug, detail, _ = describe(exc)
    return {
        "type": f"urn:autocrm:problem:{slug}" if slug else "about:blank",
        "title": _title(status),
        "status": status,
        "detail": detail,
    }


def _validation_errors(exc: RequestValidationError) -> list[dict]:
    # Never echo "input": it may be large or sensitive.
    return [
        {
            "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            "msg": e.get("msg", ""),
            "type": e.get("type", ""),
        }
        for e in exc.errors()
    ]


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = _validation_errors(exc)
    where = ".".join(str(p) for p in errors[0]["loc"]) if errors else "request"
    detail = f"{where}: {errors[0]['msg']}" if errors else "invalid request"
    return problem(422, detail, slug="validation-error", errors=errors)


async def _any(request: Request, exc: Exception) -> JSONResponse:
    status, slug, detail, headers = describe(exc)
    return problem(status, detail, slug=slug, headers=headers)


def install_handlers(app: FastAPI) -> None:
    from autocrm.pipeline.chat import ChatModelError

    app.add_exception_handler(RequestValidationError, _validation)
    for cls in (
        ApiError,
        StarletteHTTPException,
        NotFound,
        InvalidInput,
        ChatModelError,
        DatabaseError,
        psycopg.Error,
        Exception,
    ):
        app.add_exception_handler(cls, _any)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": _title(code)}
    for code in (400, 401, 403, 404, 409, 413, 422, 500, 503)
}
# For the rate-limited operations (api/ratelimit.py).
RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {"model": Problem, "description": "Too Many Requests: wait the Retry-After seconds"}
}


def problem_media_types(schema: dict[str, Any]) -> dict[str, Any]:
    """In an OpenAPI document, error responses are ``application/problem+json``: FastAPI lists a
    response model under ``application/json``; move it."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if str(code) >= "400" and "application/json" in content:
                    content[PROBLEM_JSON] = content.pop("application/json")
    return schema
