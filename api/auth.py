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

from autocrm.api.errors import Unauthorized
from autocrm.core.errors import AutoCRMError
from autocrm.core.settings import Settings
from autocrm.db.session import DbRole

ALGORITHM = "HS256"
AUDIENCE = "authenticated"  # what Supabase puts in user tokens (the default jwt_audience)
# Clock skew tolerated between the token's issuer and this server.
LEEWAY_S = 30
# HS256 keys shorter than the hash output (RFC 7518 §3.2) can be brute-forced offline from one token.
MIN_SECRET_BYTES = 32
# Accepted in dev mode when no service key is configured; never outside it.
DEV_SERVICE_KEY = "dev-service-key"
DEFAULT_JWT_SECRET = Settings.model_fields["jwt_secret"].default.get_secret_value()


class InsecureDeployment(AutoCRMError):
    """The settings are unsafe outside dev mode (a default or short secret): refuse to start."""


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
    *,
    secret: str,
    user_id: UUID | str,
    app_role: str | None = None,
    ttl_s: int = 3600,
    audience: str = AUDIENCE,
) -> str:
    """A Supabase-shaped user token. ``app_role`` is informational only (the DB decides)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(UUID(str(user_id))),
        "role": "authenticated",
        "aud": audience,
        "iat": now,
        "exp": now + ttl_s,
    }
    if app_role:
        claims["app_metadata"] = {"role": app_role}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(
    token: str, *, secret: str, audience: str = AUDIENCE, max_ttl_s: int = 86_400
) -> Caller:
    """The caller a JWT names; ``Unauthorized`` for an expired, forged, malformed, wrong-audience
    or too long-lived one. PyJWT checks the signature, ``exp``, ``iat`` (not in the future) and
    ``aud``; the lifetime bound is ours: a leaked token must not stay valid for years."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=audience,
            leeway=LEEWAY_S,
            options={"require": ["exp", "iat", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("the token has expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise Unauthorized(f"invalid token: audience must be {audience!r}") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}") from exc
    if claims["exp"] - claims["iat"] > max_ttl_s:
        raise Unauthorized(f"invalid token: lifetime (exp - iat) over {max_ttl_s} s")
    role = claims.get("role", "authenticated")
    if role not in ("authenticated", "anon"):
        raise Unauthorized("invalid token: role must be 'authenticated' (use the service key)")
    try:
        user_id = UUID(str(claims["sub"]))
    except ValueError as exc:
        raise Unauthorized("invalid token: 'sub' must be a user UUID") from exc
    return Caller(db_role=role, claims=claims | {"role": role}, user_id=user_id)


def effective_service_key(settings: Settings) -> str:
    """The service key this server accepts: the configured one; in dev mode without one, the dev
    key; otherwise none (empty: the service key is off)."""
    configured = settings.service_key.get_secret_value()
    return configured or (DEV_SERVICE_KEY if settings.dev_mode else "")


def check_deployment(settings: Settings) -> None:
    """Refuse unsafe settings outside dev mode: the default or a short JWT secret, a short or
    default service key. Raises ``InsecureDeployment`` with a one-line reason."""
    if settings.dev_mode:
        return
    secret = settings.jwt_secret.get_secret_value()
    if secret == DEFAULT_JWT_SECRET:
        raise InsecureDeployment(
            "AUTOCRM_JWT_SECRET is the built-in development value: set a random secret of at "
            f"least {MIN_SECRET_BYTES} bytes (or AUTOCRM_DEV_MODE=true for development)"
        )
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise InsecureDeployment(
            f"AUTOCRM_JWT_SECRET is shorter than {MIN_SECRET_BYTES} bytes: set a longer random "
            "secret (or AUTOCRM_DEV_MODE=true for development)"
        )
    key = settings.service_key.get_secret_value()
    if key and (key == DEV_SERVICE_KEY or len(key.encode()) < MIN_SECRET_BYTES):
        raise InsecureDeployment(
            f"AUTOCRM_SERVICE_KEY must be a random value of at least {MIN_SECRET_BYTES} bytes "
            "(or empty: no service key)"
        )


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
    service_key = effective_service_key(settings)
    if service_key and hmac.compare_digest(token.encode(), service_key.encode()):
        return SERVICE
    return decode_token(
        token,
        secret=settings.jwt_secret.get_secret_value(),
        audience=settings.jwt_audience,
        max_ttl_s=settings.jwt_max_ttl_s,
    )


async def get_caller(request: Request) -> Caller:
    """FastAPI dependency (no I/O: it only checks a signature). Headers win; a browser without
    them is signed in by its session cookie, and then an unsafe request needs the CSRF token."""
    from autocrm.api.cookies import SESSION_COOKIE, require_csrf

    authorization = request.headers.get("authorization")
    apikey = request.headers.get("apikey")
    settings = request.app.state.settings
    if authorization is None and apikey is None and (cookie := request.cookies.get(SESSION_COOKIE)):
        caller = session_caller(cookie, settings=settings)
        await require_csrf(request)
        return caller
    return caller_from_headers(authorization, apikey, settings=settings)


def session_caller(token: str, *, settings: Settings) -> Caller:
    """The user a session cookie's JWT names (a browser session is a user, never the service)."""
    return decode_token(
        token,
        secret=settings.jwt_secret.get_secret_value(),
        audience=settings.jwt_audience,
        max_ttl_s=settings.jwt_max_ttl_s,
    )
