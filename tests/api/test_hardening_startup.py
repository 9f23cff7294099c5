"""Unsafe deployments are refused (issue 14): outside dev mode the app and `autocrm serve` will not
start with the default or a short JWT secret or service key; `autocrm token` mints tokens the API
accepts (audience, bounded lifetime)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
import typer
from typer.testing import CliRunner

from autocrm.api.auth import InsecureDeployment
from autocrm.core.settings import Settings
from tests.api.conftest import ETHAN, JWT_SECRET

REPO = Path(__file__).resolve().parents[2]
STRONG = "s" * 32
UNSAFE = {
    "default JWT secret": ({}, "AUTOCRM_JWT_SECRET"),
    "short JWT secret": ({"jwt_secret": "s" * 31}, "AUTOCRM_JWT_SECRET"),
    "dev service key": ({"jwt_secret": STRONG, "service_key": "dev-service-key"}, "SERVICE_KEY"),
    "short service key": ({"jwt_secret": STRONG, "service_key": "k" * 20}, "SERVICE_KEY"),
}


def settings(**values: object) -> Settings:
    return Settings(**({"database_url": "postgresql:///unused", "otlp_endpoint": ""} | values))


@pytest.mark.parametrize(("values", "named"), UNSAFE.values(), ids=UNSAFE.keys())
def test_the_app_refuses_unsafe_settings_outside_dev_mode(values, named):
    from autocrm.api.app import create_app

    with pytest.raises(InsecureDeployment, match=named):
        create_app(settings(**values))
    create_app(settings(dev_mode=True, **values))  # development: allowed


def test_safe_settings_start():
    from autocrm.api.app import create_app

    create_app(settings(jwt_secret=STRONG))  # no service key at all: it is off
    create_app(settings(jwt_secret=STRONG, service_key="k" * 40))


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AUTOCRM_")}
    clean.pop("DATABASE_URL", None)
    clean["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-c", "from autocrm.cli.main import main; main()", *args],
        env=clean | env,
        cwd=cwd,  # no .env of the checkout
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "AUTOCRM_JWT_SECRET is the built-in development value"),
        ({"AUTOCRM_JWT_SECRET": "short"}, "AUTOCRM_JWT_SECRET is shorter than 32 bytes"),
        ({"AUTOCRM_JWT_SECRET": STRONG, "AUTOCRM_SERVICE_KEY": "dev-service-key"}, "SERVICE_KEY"),
    ],
)
def test_serve_exits_with_a_one_line_error(tmp_path, env, named):
    result = run_cli("serve", "--port", "1", env=env, cwd=tmp_path)
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0], result.stderr


def cli() -> typer.Typer:
    from autocrm.cli.api import token

    app = typer.Typer()
    app.command()(token)
    return app


def test_token_mints_an_audience_and_a_bounded_lifetime(monkeypatch):
    monkeypatch.setenv("AUTOCRM_JWT_SECRET", JWT_SECRET)
    minted = CliRunner().invoke(cli(), ["--user", ETHAN])
    assert minted.exit_code == 0, minted.output
    claims = jwt.decode(
        minted.output.strip(), JWT_SECRET, algorithms=["HS256"], audience="authenticated"
    )
    assert claims["exp"] - claims["iat"] == 3600
    too_long = CliRunner().invoke(cli(), ["--user", ETHAN, "--ttl", str(2 * 86_400)])
    assert too_long.exit_code != 0 and "AUTOCRM_JWT_MAX_TTL_S" in str(too_long.exception)
