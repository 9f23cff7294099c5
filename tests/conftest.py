"""Shared fixtures: one embedded PostgreSQL per test session, a migrated + seeded template database,
and per-test isolation (a rolled-back transaction, or a fresh database cloned from the template)."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
warnings.filterwarnings("ignore", category=UserWarning, module="platformdirs")

from autocrm.db import migrate  # noqa: E402
from autocrm.db.connect import connect, drop_database, ensure_database  # noqa: E402
from autocrm.db.server import start_embedded, stop_embedded, with_database  # noqa: E402
from tests.builders import embed_demo_kb  # noqa: E402

TEMPLATE_DB = "autocrm_test_template"
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DATASETS = SHARED / "datasets"


@pytest.fixture(scope="session")
def pg_root(request: pytest.FixtureRequest) -> Iterator[Path]:
    if request.config.getoption("--managed-pg"):
        pytest.skip("about the embedded server, which --managed-pg replaces")
    # Not pytest's tmp_path: pytest re-chmods its base dir to 0700 at every session start, which
    # locks the server's own OS user out of a data dir another session is still using.
    root = Path(tempfile.mkdtemp(prefix="autocrm-test-pg-"))
    root.chmod(0o755)
    yield root
    stop_embedded(root / "pgdata")
    shutil.rmtree(root, ignore_errors=True)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--managed-pg",
        action="store_true",
        default=os.environ.get("AUTOCRM_TEST_MANAGED_PG") == "1",
        help="run the database fixtures against a second PostgreSQL over TCP with passwords, as "
        "a role that is no superuser (tests/db/managed_server.py); also AUTOCRM_TEST_MANAGED_PG=1",
    )


@pytest.fixture(scope="session")
def server_url(request: pytest.FixtureRequest) -> str:
    """URL of the session's server (maintenance database): the embedded one, or with --managed-pg
    the managed-like one, as its CI role (no superuser; CREATEDB to clone the templates)."""
    if request.config.getoption("--managed-pg"):
        from tests.db.managed_server import CI_ROLE

        return request.getfixturevalue("managed_pg").url(CI_ROLE, "postgres")
    return start_embedded(request.getfixturevalue("pg_root") / "pgdata")


@pytest.fixture(scope="session")
def template_url(server_url: str) -> str:
    drop_database(server_url=server_url, name=TEMPLATE_DB)
    ensure_database(server_url=server_url, name=TEMPLATE_DB)
    url = with_database(server_url, TEMPLATE_DB)
    with connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
        migrate.seed(conn)
    return url


@pytest.fixture
def fresh_db(server_url: str, template_url: str) -> Iterator[str]:
    """A new database cloned from the migrated + seeded template; for tests that commit."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with connect(server_url, autocommit=True, vector=False) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    yield with_database(server_url, name)
    drop_database(server_url=server_url, name=name)


@pytest.fixture
def empty_db(server_url: str) -> Iterator[str]:
    """A new, empty database (no schema)."""
    name = f"e_{uuid.uuid4().hex[:12]}"
    ensure_database(server_url=server_url, name=name)
    yield with_database(server_url, name)
    drop_database(server_url=server_url, name=name)


@pytest.fixture(scope="session")
def shared_db(server_url: str, template_url: str) -> str:
    """One migrated + seeded database shared by transaction-isolated tests."""
    name = "autocrm_test_shared"
    drop_database(server_url=server_url, name=name)
    with connect(server_url, autocommit=True, vector=False) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    return with_database(server_url, name)


@pytest.fixture
def conn(shared_db: str) -> Iterator[psycopg.Connection]:
    """A connection whose work is rolled back after the test."""
    with connect(shared_db) as c:
        yield c
        c.rollback()


def require_shared() -> Path:
    if not DATASETS.exists():
        pytest.skip(f"shared datasets not found at {DATASETS} (../shared is absent)")
    return DATASETS


@pytest.fixture(scope="session")
def real_embedder():
    """all-MiniLM-L6-v2 from the installed package files (loaded once per session)."""
    from autocrm.core.settings import Settings
    from autocrm.pipeline.embedder import build_embedder

    return build_embedder(Settings())


@pytest.fixture(scope="session")
def kb_db(server_url: str, template_url: str, real_embedder) -> str:
    """The demo org with its knowledge base ingested for real (real embeddings), once per session.
    Tests that write to it use the ``kb_conn`` fixture (rolled back)."""
    name = "autocrm_test_kb"
    drop_database(server_url=server_url, name=name)
    with connect(server_url, autocommit=True, vector=False) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    url = with_database(server_url, name)
    embed_demo_kb(url, embedder=real_embedder)
    return url


@pytest.fixture
def kb_conn(kb_db: str) -> Iterator[psycopg.Connection]:
    with connect(kb_db) as c:
        yield c
        c.rollback()


@pytest.fixture
def queue_db(server_url: str, kb_db: str) -> Iterator[str]:
    """A copy of the ingested demo KB database that worker processes may commit to."""
    name = f"w_{uuid.uuid4().hex[:10]}"
    with connect(server_url, autocommit=True, vector=False) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "autocrm_test_kb"')
    yield with_database(server_url, name)
    drop_database(server_url=server_url, name=name)


from tests.db.managed_server import managed_pg  # noqa: E402,F401  (a second, managed-like server)
from tests.llm_fixtures import llm_server  # noqa: E402,F401  (the fake OpenAI-compatible server)


@pytest.fixture
def keep_task_binding() -> Iterator[None]:
    """The API and the worker rebind api.tasks' module-level tasks to the App of their database;
    give the session's binding back afterwards (later API tests defer through it)."""
    from autocrm.api import tasks

    saved = {task: task.blueprint for task in set(tasks.tasks.tasks.values())}
    yield
    for task, blueprint in saved.items():
        task.blueprint = blueprint
