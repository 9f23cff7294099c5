"""``autocrm serve`` and ``autocrm token``: run the HTTP API, mint a development token."""

from __future__ import annotations

import typer

from autocrm.settings import Settings


def serve(
    host: str | None = typer.Option(None, help="bind address (default: AUTOCRM_API_HOST)"),
    port: int | None = typer.Option(None, help="port (default: AUTOCRM_API_PORT)"),
    log_level: str = typer.Option("info", help="uvicorn log level"),
) -> None:
    """Run the HTTP API (FastAPI under uvicorn) until interrupted.

    Example: autocrm serve --host 0.0.0.0 --port 8000
    """
    import uvicorn

    from api.app import create_app

    settings = Settings()
    app = create_app(settings)  # fails here, with a clear message, on a bad tracing setup
    uvicorn.run(
        app,
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level=log_level,
        proxy_headers=True,
    )


def token(
    user: str = typer.Option(..., "--user", help="the user's UUID (users.id, the JWT 'sub')"),
    role: str | None = typer.Option(
        None, "--role", help="app role put in app_metadata (informational: the DB decides)"
    ),
    ttl: int = typer.Option(3600, "--ttl", min=1, help="lifetime in seconds"),
) -> None:
    """Print a signed development JWT for a user (HS256 with AUTOCRM_JWT_SECRET).

    The token names the user; what they may do comes from users.role in the database.

    Example: autocrm token --user 11111111-0000-4000-8000-000000000007 --role agent --ttl 3600
    """
    from uuid import UUID

    from api.auth import mint_token
    from autocrm.errors import InvalidInput

    try:
        user_id = UUID(user)
    except ValueError as exc:
        raise InvalidInput(f"--user must be a UUID, got {user!r}") from exc
    typer.echo(
        mint_token(
            secret=Settings().jwt_secret.get_secret_value(),
            user_id=user_id,
            app_role=role,
            ttl_s=ttl,
        )
    )
