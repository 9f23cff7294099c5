"""``autocrm serve`` and ``autocrm token``: run the HTTP API, mint a development token."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from autocrm.core.settings import Settings

if TYPE_CHECKING:
    import uvicorn


def serve(
    host: str | None = typer.Option(None, help="bind address (default: AUTOCRM_API_HOST)"),
    port: int | None = typer.Option(None, help="port (default: AUTOCRM_API_PORT)"),
    log_level: str = typer.Option("info", help="uvicorn log level"),
    dev: bool = typer.Option(
        False, "--dev", help="development mode: allows the default secrets (AUTOCRM_DEV_MODE)"
    ),
) -> None:
    """Run the HTTP API (FastAPI under uvicorn) until interrupted.

    Outside --dev it refuses to start with the default or a short AUTOCRM_JWT_SECRET or
    AUTOCRM_SERVICE_KEY (exit code 2, one line saying which).

    Example: AUTOCRM_JWT_SECRET=$(openssl rand -hex 32) autocrm serve --host 0.0.0.0 --port 8000
    """
    import uvicorn

    from autocrm.api.app import create_app

    settings = Settings(dev_mode=True) if dev else Settings()
    # Fails here, with a clear one-line message, on unsafe secrets or a bad tracing setup: an
    # unsafe deployment never binds the port.
    app = create_app(settings)
    config = uvicorn_config(
        app, host=host or settings.api_host, port=port or settings.api_port, log_level=log_level
    )
    uvicorn.Server(config).run()


def uvicorn_config(app: object, *, host: str, port: int, log_level: str = "info") -> uvicorn.Config:
    """How ``autocrm serve`` runs uvicorn: behind a proxy's X-Forwarded-* headers, and without
    the ``server: uvicorn`` banner (it tells an attacker what to look up)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        proxy_headers=True,
        server_header=False,
    )


def token(
    user: str = typer.Option(..., "--user", help="the user's UUID (users.id, the JWT 'sub')"),
    role: str | None = typer.Option(
        None, "--role", help="app role put in app_metadata (informational: the DB decides)"
    ),
    ttl: int = typer.Option(
        3600, "--ttl", min=1, help="lifetime in seconds (at most AUTOCRM_JWT_MAX_TTL_S, 1 day)"
    ),
) -> None:
    """Print a signed development JWT for a user (HS256 with AUTOCRM_JWT_SECRET).

    The token names the user; what they may do comes from users.role in the database.

    Example: autocrm token --user 11111111-0000-4000-8000-000000000007 --role agent --ttl 3600
    """
    from uuid import UUID

    from autocrm.api.auth import mint_token
    from autocrm.core.errors import InvalidInput

    try:
        user_id = UUID(user)
    except ValueError as exc:
        raise InvalidInput(f"--user must be a UUID, got {user!r}") from exc
    settings = Settings()
    if ttl > settings.jwt_max_ttl_s:
        raise InvalidInput(
            f"--ttl {ttl} is over the {settings.jwt_max_ttl_s} s the API accepts "
            "(AUTOCRM_JWT_MAX_TTL_S)"
        )
    typer.echo(
        mint_token(
            secret=settings.jwt_secret.get_secret_value(),
            user_id=user_id,
            app_role=role,
            ttl_s=ttl,
            audience=settings.jwt_audience,
        )
    )
