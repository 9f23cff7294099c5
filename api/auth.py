"""Who is calling: a Supabase-compatible bearer JWT, the service key, or nobody (anon).

The token only says WHO the caller is (``sub``). What they may do is decided by the database: the RLS
helpers read the role from ``users.role``, so an ``app_metadata.role`` claim grants nothing by itself
and a JWT can never make its bearer ``service_role`` (only the service key does).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import jwt
from fastapi import Request

from api.errors import Unauthorized
from autocrm.settings import Settings
from db.session import DbRole

ALGORITHM = "HS256"
AUDIENCE = "authenticated"  # what Supabase puts in user tokens; checked when present


@dataclass(frozen=True)
class Caller:
    """The authenticated identity of a request (before the database says what role it has)."""

    db_role: DbRole
    claims: dict[str, Any] = field(default_factory=dict)
    user_id: UUID | None = None

    @property
    def is_anon(self) -> bool:
        return self.db_role == "anon"


ANON = Caller(db_role="anon", claims={"role": "anon"})
SERVICE = Caller(db_role="service_role", claims={"role": "service_role"})


def mint_token(
    *, secret: str, user_id: UUID | str, app_role: str | None = None, ttl_s: int = 3600
) -> str:
    """A Supabase-shaped user token. ``app_role`` is informational only (the DB decides)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(UUID(str(user_id))),
        "role": "authenticated",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + ttl_s,
    }
    if app_role:
        claims["app_metadata"] = {"role": app_role}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(token: str, *, secret: str) -> Caller:
    """The caller a JWT names; ``Unauthorized`` for an expired, forged or malformed one."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("the token has expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}") from exc
    aud = claims.get("aud")
    if aud is not None and AUDIENCE not in ([aud] if isinstance(aud, str) else aud):
        raise Unauthorized(f"invalid token: audience must be {AUDIENCE!r}")
    role = claims.get("role", "authenticated")
    if role not in ("authenticated", "anon"):
        raise Unauthorized("invalid token: role must be 'authenticated' (use the service key)")
    try:
        user_id = UUID(str(claims["sub"]))
    except ValueError as exc:
        raise Unauthorized("invalid token: 'sub' must be a user UUID") from exc
    return Caller(db_role=role, claims=claims | {"role": role}, user_id=user_id)


def caller_from_headers(
    authorization: str | None, apikey: str | None, *, settings: Settings
) -> Caller:
    """``Authorization: Bearer <jwt | service key>`` wins; else ``apikey:``; else anon."""
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        token = token.strip()
    elif apikey is not None:
        token = apikey.strip()
    else:
        return ANON
    service_key = settings.service_key.get_secret_value()
    if service_key and hmac.compare_digest(token.encode(), service_key.encode()):
        return SERVICE
    return decode_token(token, secret=settings.jwt_secret.get_secret_value())


async def get_caller(request: Request) -> Caller:
    """FastAPI dependency (no I/O: it only checks a signature)."""
    return caller_from_headers(
        request.headers.get("authorization"),
        request.headers.get("apikey"),
        settings=request.app.state.settings,
    )
