"""One ``since`` parser for the CLI's ``--since`` and the API's ``?since=`` (autocrm.core.periods);
the HTTP side is tested in tests/api/test_admin_since.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from autocrm.cli.main import app
from autocrm.core.errors import InvalidInput
from autocrm.core.periods import SINCE_FORMS, parse_since

NOW = datetime(2026, 12, 4, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12h", NOW - timedelta(hours=12)),
        ("30d", NOW - timedelta(days=30)),
        ("4w", NOW - timedelta(weeks=4)),
        (" 7D ", NOW - timedelta(days=7)),
        ("0d", NOW),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
    ],
)
def test_accepted_forms(text: str, expected: datetime) -> None:
    assert parse_since(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["soon", "30", "d30", "3x", "-2d", "2026-13-01", "", "999999w"])
def test_anything_else_names_the_accepted_forms(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_since(text, now=NOW, name="--since")
    assert str(caught.value) == f"--since {text!r}: use {SINCE_FORMS}"
    assert "12h, 30d, 4w or a date YYYY-MM-DD" in str(caught.value)


def test_the_cli_refuses_a_bad_since_before_opening_anything() -> None:
    # An unreachable database: the option is checked first, so the error is about --since.
    result = CliRunner().invoke(
        app,
        ["report", "ai", "--since", "3x"],
        env={"AUTOCRM_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x", "AUTOCRM_ORG": None},
    )
    assert isinstance(result.exception, InvalidInput), result.output
    assert str(result.exception) == f"--since '3x': use {SINCE_FORMS}"
